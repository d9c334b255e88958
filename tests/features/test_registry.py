"""The feature registry: 41 stable, documented names; scenarios; the generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mammocad.errors import FeatureError
from mammocad.features import (
    CALCIFICATION_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    MASS_FEATURES,
    SCENARIOS,
    FeatureSpec,
    feature_spec,
    scenario_columns,
)
from mammocad.features.registry import CATEGORIES, INVARIANCES, _main, registry_markdown, registry_text

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_counts_and_prefixes_match_the_paper():
    assert len(FEATURES) == 41
    assert len(CALCIFICATION_FEATURES) == 15 and all(n.startswith("calc_") for n in CALCIFICATION_FEATURES)
    assert len(MASS_FEATURES) == 26 and all(n.startswith("mass_") for n in MASS_FEATURES)
    assert len(set(FEATURE_NAMES)) == 41
    assert FEATURE_NAMES == CALCIFICATION_FEATURES + MASS_FEATURES


def test_every_feature_is_documented():
    for spec in FEATURES:
        assert spec.definition and spec.formula and spec.unit, spec.name
        assert spec.category in CATEGORIES
        assert set(spec.invariances) <= set(INVARIANCES)
        assert "translation" in spec.invariances, spec.name


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


def test_docs_are_generated_from_the_registry():
    assert DOCS.read_text(encoding="utf-8") == registry_markdown(), (
        "docs/features.md is stale: python -m mammocad.features --markdown > docs/features.md"
    )
    for spec in FEATURES:
        assert f"`{spec.name}`" in registry_markdown()


def test_text_listing_and_module_entry_point(capsys):
    text = registry_text()
    assert all(spec.name in text for spec in FEATURES)
    assert _main(["--markdown"]) == 0
    assert capsys.readouterr().out == registry_markdown()
