"""The paper's 41 lesion features: registry, calcification, mass and texture features.

>>> from mammocad.features import FEATURES, scenario_columns
>>> len(FEATURES), len(scenario_columns("calcification")), len(scenario_columns("mass"))
(41, 15, 26)
"""

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
    "extract_lesion_features",
    "extract_table",
    "TABLE_ID_COLUMNS",
]


def __getattr__(name: str):  # noqa: ANN202 - lazy import keeps `import mammocad.features` light
    if name in ("extract_lesion_features", "extract_table", "TABLE_ID_COLUMNS"):
        from mammocad.features import extract

        return getattr(extract, name)
    raise AttributeError(f"module 'mammocad.features' has no attribute {name!r}")
