"""The feature registry: 41 stable, documented names; feature sets; scenarios; the generated docs."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from mammocad.errors import FeatureError
from mammocad.features import (
    CALCIFICATION_FEATURES,
    FEATURE_NAMES,
    FEATURE_SETS,
    FEATURES,
    MASS_FEATURES,
    SCENARIOS,
    FeatureSpec,
    calcification,
    feature_names,
    feature_spec,
    mass,
    mass_features,
    registry,
    scenario_columns,
    texture,
)
from mammocad.features.margin import MARGIN_FEATURES
from mammocad.features.mass import MassRegion
from mammocad.features.registry import (
    CATEGORIES,
    INVARIANCES,
    _main,
    feature_specs,
    registry_markdown,
    registry_text,
    scenarios,
)
from mammocad.features.spec import GAIN, GEOMETRIC, feature, features_of, format_constant

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"

# The paper's 41 columns, in table order: a contract with every feature table written so far.
PAPER_COLUMNS = (
    "calc_count calc_mean_diameter_mm calc_mean_area_mm2 calc_density_per_cm2 calc_mean_circularity "
    "calc_circular_proportion calc_mean_solidity calc_punctate_proportion calc_linear_proportion "
    "calc_mean_spiculation calc_volume_ratio calc_mean_grey calc_cluster_spread_mm calc_area_cv "
    "calc_contrast mass_area_mm2 mass_perimeter_mm mass_circularity mass_solidity mass_elongation "
    "mass_axis_ratio mass_convexity mass_spiculation mass_heterogeneity mass_volume_ratio mass_mean_grey "
    "mass_max_grey mass_grey_relativity mass_glcm_entropy mass_glcm_inverse_difference "
    "mass_glcm_difference_entropy mass_glcm_correlation mass_glcm_difference_variance "
    "mass_glcm_sum_average mass_glcm_sum_variance mass_glcm_energy mass_glcm_imc1 mass_glcm_imc2 "
    "mass_glcm_contrast mass_glcm_inverse_difference_moment mass_glcm_cluster_shade"
).split()


def test_counts_and_prefixes_match_the_paper():
    assert len(FEATURES) == 41
    assert len(CALCIFICATION_FEATURES) == 15 and all(n.startswith("calc_") for n in CALCIFICATION_FEATURES)
    assert len(MASS_FEATURES) == 26 and all(n.startswith("mass_") for n in MASS_FEATURES)
    assert len(set(FEATURE_NAMES)) == 41
    assert FEATURE_NAMES == CALCIFICATION_FEATURES + MASS_FEATURES
    assert list(FEATURE_NAMES) == PAPER_COLUMNS
    assert all(f.feature_set == "paper" for f in FEATURES)


def test_every_feature_is_documented():
    for spec in feature_specs("extended"):
        assert spec.definition and spec.formula and spec.unit, spec.name
        assert spec.category in CATEGORIES
        assert set(spec.invariances) <= set(INVARIANCES)
        assert "translation" in spec.invariances, spec.name
        # one definition: the function named after the column, its docstring holding both texts
        assert spec.compute is not None and spec.compute.__name__ == spec.name
        doc = inspect.getdoc(spec.compute) or ""
        assert " ".join(doc.split()).startswith(spec.definition) and spec.formula in doc, spec.name
        assert "$" not in spec.definition + spec.formula, spec.name


def test_formulas_take_their_constants_from_the_code():
    def formula(name):
        return feature_spec(name).formula + " " + feature_spec(name).definition

    assert f"≥ {calcification.CIRCULAR_THRESHOLD}" in formula("calc_circular_proportion")
    assert f"< {calcification.PUNCTATE_DIAMETER_MM}" in formula("calc_punctate_proportion")
    assert "≤ 1/3" in formula("calc_linear_proportion") and calcification.LINEAR_AXIS_RATIO == 1 / 3
    assert f"max({format_constant(mass.MIN_RING_WIDTH_PX)} px" in formula("mass_grey_relativity")
    assert f"`N_g` = {texture.GLCM_LEVELS} grey levels" in registry_markdown()
    # the registry module copies none of them into prose
    source = inspect.getsource(registry)
    assert "32 grey levels" not in source and "0.8" not in source and "0.2 mm" not in source


@pytest.mark.parametrize(
    ("value", "text"), [(32, "32"), (2.0, "2"), (0.8, "0.8"), (1 / 3, "1/3"), (0.123456789, "0.123457")]
)
def test_format_constant(value, text):
    assert format_constant(value) == text


def test_features_are_collected_from_their_modules_in_order():
    collected = registry._collect(registry.FEATURE_MODULES)
    assert [f.name for f in collected] == [*PAPER_COLUMNS, *MARGIN_FEATURES]
    assert [f.name for f in features_of(calcification)] == list(CALCIFICATION_FEATURES)
    with pytest.raises(FeatureError, match="declared twice: calc_area_cv, "):
        registry._collect((calcification, calcification))


def test_paper_features_are_present():
    # Wang et al. list these by name; each must map to a column.
    for name in (
        "calc_count",
        "calc_mean_diameter_mm",
        "calc_mean_area_mm2",
        "calc_density_per_cm2",
        "calc_mean_circularity",
        "calc_circular_proportion",
        "calc_mean_solidity",
        "calc_punctate_proportion",
        "calc_linear_proportion",
        "calc_mean_spiculation",
        "calc_volume_ratio",
        "calc_mean_grey",
        "mass_area_mm2",
        "mass_solidity",
        "mass_elongation",
        "mass_axis_ratio",
        "mass_heterogeneity",
        "mass_spiculation",
        "mass_volume_ratio",
        "mass_convexity",
        "mass_mean_grey",
        "mass_max_grey",
        "mass_grey_relativity",
        "mass_glcm_entropy",
        "mass_glcm_inverse_difference",
        "mass_glcm_difference_entropy",
        "mass_glcm_correlation",
        "mass_glcm_difference_variance",
        "mass_glcm_sum_average",
        "mass_glcm_sum_variance",
        "mass_glcm_energy",
        "mass_glcm_imc1",
        "mass_glcm_imc2",
    ):
        assert feature_spec(name).name == name


def test_scenarios_are_column_subsets():
    assert set(SCENARIOS) == {"calcification", "mass", "combined"}
    assert scenario_columns("calcification") == list(CALCIFICATION_FEATURES)
    assert scenario_columns("mass") == list(MASS_FEATURES)
    assert scenario_columns("combined") == list(FEATURE_NAMES)
    # a copy: callers cannot corrupt the registry
    scenario_columns("mass").append("x")
    assert len(scenario_columns("mass")) == 26


@pytest.mark.parametrize("bad", ["masses", "", None, "Combined"])
def test_unknown_scenario_is_a_feature_error(bad):
    with pytest.raises(FeatureError, match="unknown scenario"):
        scenario_columns(bad)


def test_unknown_feature_and_bad_spec():
    with pytest.raises(FeatureError, match="unknown feature"):
        feature_spec("calc_nothing")
    with pytest.raises(FeatureError, match="unknown feature"):
        feature_spec(["calc_count"])  # type: ignore[arg-type]
    with pytest.raises(FeatureError, match="prefix"):
        FeatureSpec("area", "mass", "shape", "d", "f", "mm²", ())
    with pytest.raises(FeatureError, match="category"):
        FeatureSpec("mass_x", "mass", "colour", "d", "f", "mm²", ())
    with pytest.raises(FeatureError, match="invariances"):
        FeatureSpec("mass_x", "mass", "shape", "d", "f", "mm²", ("time",))
    with pytest.raises(FeatureError, match="feature set"):
        FeatureSpec("mass_x", "mass", "shape", "d", "f", "mm²", (), feature_set="more")


def _declare(func, **kwargs):
    options = {"category": "shape", "unit": "unitless", "invariances": GEOMETRIC} | kwargs
    return feature(**options)(func)


def test_feature_decorator_rejects_incomplete_declarations():
    def mass_no_formula(m):
        """A definition, no formula."""

    def mass_unknown_constant(m):
        """Above $NOT_A_CONSTANT.

        Formula: ``x``
        """

    def area(m):
        """No prefix.

        Formula: ``A``
        """

    def mass_x(m):
        """Fine.

        Formula: ``x``
        """

    with pytest.raises(FeatureError, match="Formula"):
        _declare(mass_no_formula)
    with pytest.raises(FeatureError, match="NOT_A_CONSTANT"):
        _declare(mass_unknown_constant)
    with pytest.raises(FeatureError, match="prefix"):
        _declare(area)
    with pytest.raises(FeatureError, match="category"):
        _declare(mass_x, category="colour")
    with pytest.raises(FeatureError, match="feature set"):
        _declare(mass_x, feature_set="margins")


def test_feature_sets_and_their_scenarios():
    assert set(FEATURE_SETS) == {"paper", "extended"}
    assert FEATURE_SETS["paper"] == FEATURE_NAMES
    assert FEATURE_SETS["extended"][:41] == FEATURE_NAMES
    assert feature_names() == feature_names("paper") == list(FEATURE_NAMES)
    assert scenarios() == SCENARIOS
    for name in SCENARIOS:
        paper, extended = scenario_columns(name), scenario_columns(name, "extended")
        assert extended[: len(paper)] == paper
    with pytest.raises(FeatureError, match="unknown feature set"):
        feature_names("margins")
    with pytest.raises(FeatureError, match="unknown feature set"):
        scenario_columns("mass", feature_set="all")
    with pytest.raises(FeatureError, match="unknown feature group"):
        feature_specs("paper", group="lesion")


# A feature of the extended set, declared as a margin module would declare one.
OUTLINE_WEIGHT = 2.5


@feature(category="morphology", unit="unitless", invariances=GEOMETRIC + GAIN, feature_set="extended")
def mass_outline_share(m: MassRegion) -> float:
    """Share of the mass's pixels on its outline, times $OUTLINE_WEIGHT.

    Formula: ``$OUTLINE_WEIGHT·#outline / A``
    """
    return OUTLINE_WEIGHT * float(np.count_nonzero(m.boundary)) / m.area


@pytest.fixture
def with_extended_feature(monkeypatch):
    specs = registry._collect((*registry.FEATURE_MODULES, sys.modules[__name__]))
    monkeypatch.setattr(registry, "_INDEX", registry._index(specs))


def test_an_extended_feature_joins_the_extended_set_only(with_extended_feature):
    assert feature_names("paper") == list(FEATURE_NAMES)
    assert feature_names("extended") == [*FEATURE_NAMES, *MARGIN_FEATURES, "mass_outline_share"]
    assert scenario_columns("mass", "extended") == [*MASS_FEATURES, *MARGIN_FEATURES, "mass_outline_share"]
    assert scenario_columns("calcification", "extended") == list(CALCIFICATION_FEATURES)
    assert scenario_columns("combined", "extended")[-1] == "mass_outline_share"
    spec = feature_spec("mass_outline_share")
    assert spec.feature_set == "extended" and spec.formula == "2.5·#outline / A"
    assert mass_outline_share.__doc__.startswith("Share of the mass's pixels on its outline, times 2.5.")

    yy, xx = np.mgrid[:40, :40]
    mask = (yy - 20) ** 2 + (xx - 20) ** 2 <= 10**2
    image = np.where(mask, 150.0, 50.0)
    paper = mass_features(image, mask, pixel_spacing_mm=0.2)
    extended = mass_features(image, mask, pixel_spacing_mm=0.2, feature_set="extended")
    assert list(paper) == list(MASS_FEATURES)
    assert list(extended) == [*MASS_FEATURES, *MARGIN_FEATURES, "mass_outline_share"]
    assert {k: extended[k] for k in paper} == paper
    outline = mask & ~(
        np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1)
    )
    assert extended["mass_outline_share"] == pytest.approx(2.5 * outline.sum() / mask.sum())
    empty = mass_features(image, np.zeros_like(mask), pixel_spacing_mm=0.2, feature_set="extended")
    assert empty["mass_outline_share"] == 0.0

    markdown = registry_markdown()
    n_extended = len(MARGIN_FEATURES) + 1
    assert f"## Extended set: mass features ({n_extended})" in markdown and "`mass_outline_share`" in markdown
    assert "mass_outline_share" in registry_text() and "[extended]" in registry_text()


def test_docs_are_generated_from_the_registry():
    assert DOCS.read_text(encoding="utf-8") == registry_markdown(), (
        "docs/features.md is stale: python -m mammocad.features --markdown > docs/features.md"
    )
    for spec in feature_specs("extended"):
        assert f"`{spec.name}`" in registry_markdown()


def test_text_listing_and_module_entry_point(capsys):
    text = registry_text()
    assert all(spec.name in text for spec in FEATURES)
    assert _main(["--markdown"]) == 0
    assert capsys.readouterr().out == registry_markdown()
