"""The paper's 41 lesion features: registry, calcification, mass and texture features.

- :mod:`~mammocad.features.registry`: every feature named, defined and documented.
- :func:`calcification_features`, :func:`mass_features`: measure label images and masks.
- :func:`lesion_features`: all 41 of a :class:`~mammocad.segment.LesionSegmentation`.
- :mod:`~mammocad.features.table`: the feature table (schema, reader/writer,
  validator, :func:`to_xy_groups`, provenance).

>>> from mammocad.features import FEATURES, scenario_columns
>>> len(FEATURES), len(scenario_columns("calcification")), len(scenario_columns("mass"))
(41, 15, 26)
"""

from mammocad.features.lesion import lesion_features
from mammocad.features.registry import (
    CALCIFICATION_FEATURES,
    FEATURE_NAMES,
    FEATURE_SETS,
    FEATURES,
    MASS_FEATURES,
    SCENARIOS,
    FeatureSpec,
    calcification_features,
    feature_names,
    feature_spec,
    mass_features,
    scenario_columns,
)
from mammocad.features.table import (
    ID_COLUMNS,
    read_feature_table,
    to_xy_groups,
    validate_feature_table,
    write_feature_table,
)

__all__ = [
    "FeatureSpec",
    "FEATURES",
    "FEATURE_NAMES",
    "CALCIFICATION_FEATURES",
    "MASS_FEATURES",
    "SCENARIOS",
    "FEATURE_SETS",
    "feature_names",
    "scenario_columns",
    "feature_spec",
    "calcification_features",
    "mass_features",
    "lesion_features",
    "ID_COLUMNS",
    "read_feature_table",
    "write_feature_table",
    "validate_feature_table",
    "to_xy_groups",
]
