"""Margin features (:mod:`mammocad.features.margin`): reference shapes, invariances, bad input.

The scene is continuous (a lobulated mass, optionally radial lines around it, on a
smooth background) and sampled at pixel centres, so that it can be rotated by any
angle or sampled at twice the resolution. As in ``test_invariance.py`` (which checks
every registered feature on a scene without lines), each transformation is checked
for the features that declare it in the registry: exact grid transformations must
leave them unchanged to 1e-9, resampling may change them by the stated tolerance —
here with lines around the mass, so that the line-convergence z-scores are large and
held to a relative tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mammocad.errors import FeatureError
from mammocad.features import margin as margin_module
from mammocad.features.margin import MARGIN_FEATURES, MIN_AREA_PX, margin_features
from mammocad.features.registry import feature_spec

SIZE_MM = 25.6
SPACING = 0.1

# Largest change under resampling (arbitrary rotation, 2x resolution): relative, plus
# an absolute floor (the sector count of the spread moves in steps of 2/sqrt(24)).
TOLERANCE = {"mass_spiculation_index": 0.15, "mass_line_convergence": 0.12}
DEFAULT_TOLERANCE = 0.08
ABS_FLOOR = {"mass_line_convergence_spread": 1.0, "mass_fractional_concavity": 0.02}


def render(*, spacing=SPACING, angle=0.0, lines=10, lobes=0.12, blur_mm=0.0, radial=True):
    """(image, mask): the scene sampled at ``spacing``, rotated by ``angle`` about the centre."""
    n = int(round(SIZE_MM / spacing))
    c = SIZE_MM / 2
    rr, cc = np.mgrid[:n, :n]
    y0, x0 = (rr + 0.5) * spacing - c, (cc + 0.5) * spacing - c
    py = y0 * math.cos(angle) - x0 * math.sin(angle)
    px = y0 * math.sin(angle) + x0 * math.cos(angle)
    r, t = np.hypot(py, px), np.arctan2(py, px)
    edge = 3.5 * (1 + lobes * np.cos(5 * t) + 0.15 * np.cos(2 * t + 0.4))
    mask = r <= edge
    inside = np.clip((edge - r) / blur_mm, -1, 1) if blur_mm else np.where(mask, 1.0, -1.0)
    image = 80 + 10 * np.sin(py / 2.1) + 8 * np.cos(px / 2.7) + 30 * (inside + 1)
    for k in range(lines):
        a = 2 * math.pi * k / lines + 0.3
        # Radial lines point at the centre; the others cross the same places tangentially.
        if radial:
            across, along = r * np.sin(t - a), r * np.cos(t - a)
            image += 25 * np.exp(-((across / 0.25) ** 2)) * ((along > 2.5) & (along < 9.0))
        else:
            cy, cx = 6.0 * math.sin(a), 6.0 * math.cos(a)
            across = (py - cy) * math.sin(a) + (px - cx) * math.cos(a)
            along = -(py - cy) * math.cos(a) + (px - cx) * math.sin(a)
            image += 25 * np.exp(-((across / 0.25) ** 2)) * (np.abs(along) < 3.25)
    return image, mask


def features(image, mask, spacing=SPACING):
    return margin_features(image, mask, pixel_spacing_mm=spacing)


@pytest.fixture(scope="module")
def base():
    image, mask = render()
    return image, mask, features(image, mask)


def test_disc_reference_values():
    yy, xx = np.mgrid[:160, :160]
    disc = (yy - 80.3) ** 2 + (xx - 79.6) ** 2 <= 30**2
    noise = np.random.default_rng(1).normal(0, 3, disc.shape)
    f = features(np.where(disc, 170.0, 70.0) + noise, disc)
    assert f["mass_radial_gradient_index"] > 0.97
    assert 0.8 < f["mass_acutance"] <= 1.05
    assert f["mass_spiculation_index"] < 0.03
    assert f["mass_fractional_concavity"] == 0.0
    assert f["mass_radial_length_entropy"] < 0.5
    # No lines around it: no convergence (a sharp, high-contrast border leaves ridges along
    # it, which point nowhere and pull the z-score a few units below 0).
    assert f["mass_line_convergence"] < 2


def test_blurred_border_lowers_acutance():
    sharp = features(*render(lines=0))
    blurred = features(*render(lines=0, blur_mm=1.0))
    assert blurred["mass_acutance"] < sharp["mass_acutance"] - 0.15
    # shape features see the same mask
    for name in ("mass_spiculation_index", "mass_fractional_concavity", "mass_radial_length_entropy"):
        assert blurred[name] == sharp[name]


def test_radial_lines_point_at_the_mass():
    radial = features(*render(radial=True))
    tangential = features(*render(radial=False))
    plain = features(*render(lines=0))
    assert radial["mass_line_convergence"] > 10
    assert radial["mass_line_convergence"] > tangential["mass_line_convergence"] + 10
    assert radial["mass_line_convergence"] > plain["mass_line_convergence"] + 10
    assert radial["mass_line_convergence_spread"] > plain["mass_line_convergence_spread"]
    # Lines crossing the margin turn the gradient away from the centre.
    assert radial["mass_radial_gradient_index"] < plain["mass_radial_gradient_index"]


def test_irregular_outlines_score_higher():
    smooth = features(*render(lines=0, lobes=0.0))
    lobed = features(*render(lines=0, lobes=0.12))
    yy, xx = np.mgrid[:256, :256]
    r, t = np.hypot(yy - 128, xx - 128), np.arctan2(yy - 128, xx - 128)
    star = r <= 35 * (1 + 0.6 * np.maximum(np.cos(9 * t), 0) ** 8)
    spiky = features(np.where(star, 170.0, 70.0), star)
    assert smooth["mass_fractional_concavity"] == 0.0
    assert lobed["mass_fractional_concavity"] > 0.15
    assert spiky["mass_fractional_concavity"] > lobed["mass_fractional_concavity"]
    assert spiky["mass_spiculation_index"] > 2 * smooth["mass_spiculation_index"]
    assert spiky["mass_radial_length_entropy"] > smooth["mass_radial_length_entropy"]


def declaring(invariance):
    """The margin features that declare ``invariance`` in the registry."""
    return [n for n in MARGIN_FEATURES if invariance in feature_spec(n).invariances]


def _same(f, f0, invariance="rotation90"):
    return {
        n: (f[n], f0[n]) for n in declaring(invariance) if f[n] != pytest.approx(f0[n], rel=1e-9, abs=1e-9)
    }


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_by_90_degrees_is_exact(base, k):
    image, mask, f0 = base
    assert not _same(features(np.rot90(image, k), np.rot90(mask, k)), f0)


@pytest.mark.parametrize("axis", [0, 1])
def test_flips_are_exact(base, axis):
    image, mask, f0 = base
    assert not _same(features(np.flip(image, axis), np.flip(mask, axis)), f0)


@pytest.mark.parametrize("shift", [(1, 0), (0, 7), (-13, 5)])
def test_integer_translation_is_exact(shift):
    # A background that is periodic over the image, so that rolling it moves the
    # content without changing what lies around the mass.
    n = 256
    yy, xx = np.mgrid[:n, :n]
    image = 90 + 10 * np.sin(2 * math.pi * yy / 32) + 8 * np.cos(2 * math.pi * xx / 64)
    r, t = np.hypot(yy - 128.4, xx - 127.7), np.arctan2(yy - 128.4, xx - 127.7)
    mask = r <= 30 * (1 + 0.1 * np.cos(5 * t))
    image = image + 50 * mask
    f0 = features(image, mask)
    moved = np.roll(image, shift, axis=(0, 1)), np.roll(mask, shift, axis=(0, 1))
    assert not _same(features(*moved), f0, "translation")


@pytest.mark.parametrize(("gain", "offset"), [(0.3, 10.0), (4.0, -200.0)])
def test_linear_grey_change_is_exact(base, gain, offset):
    image, mask, f0 = base
    f = features(gain * image + offset, mask)
    assert not {
        n: (f[n], f0[n]) for n in declaring("gain") if f[n] != pytest.approx(f0[n], rel=1e-7, abs=1e-9)
    }


def _within(f, f0, invariance):
    bad = {}
    for n in declaring(invariance):
        tol = TOLERANCE.get(n, DEFAULT_TOLERANCE) * abs(f0[n]) + ABS_FLOOR.get(n, 1e-9)
        if abs(f[n] - f0[n]) > tol:
            bad[n] = (f[n], f0[n])
    return bad


@pytest.mark.parametrize("degrees", [17.0, 45.0, 71.0])
def test_arbitrary_rotation_within_tolerance(base, degrees):
    assert not _within(features(*render(angle=math.radians(degrees))), base[2], "rotation")


def test_double_resolution_within_tolerance(base):
    assert not _within(features(*render(spacing=SPACING / 2), spacing=SPACING / 2), base[2], "scale")


def test_spacing_only_checked(base):
    image, mask, f0 = base
    assert features(image, mask, spacing=0.37) == f0


def test_registered_in_the_extended_set_with_the_same_values(base):
    image, mask, f0 = base
    from mammocad.features import mass_features
    from mammocad.features.registry import feature_names

    assert list(MARGIN_FEATURES) == feature_names("extended")[41:]
    assert not set(MARGIN_FEATURES) & set(feature_names("paper"))
    extended = mass_features(image, mask, pixel_spacing_mm=SPACING, feature_set="extended")
    paper = mass_features(image, mask, pixel_spacing_mm=SPACING)
    assert {name: extended[name] for name in MARGIN_FEATURES} == f0
    assert {name: extended[name] for name in paper} == paper  # the 26 keep their values
    for name in MARGIN_FEATURES:
        spec = feature_spec(name)
        assert spec.feature_set == "extended" and spec.group == "mass" and spec.formula
        assert getattr(margin_module, name).__doc__.startswith(spec.definition[:20])


def test_empty_tiny_and_border_masks_give_finite_values():
    image = np.full((64, 64), 100.0)
    assert features(image, np.zeros((64, 64), bool)) == dict.fromkeys(MARGIN_FEATURES, 0.0)
    tiny = np.zeros((64, 64), bool)
    tiny[30:33, 30:33] = True
    assert tiny.sum() < MIN_AREA_PX
    assert features(image, tiny) == dict.fromkeys(MARGIN_FEATURES, 0.0)
    corner = np.zeros((64, 64), bool)
    corner[:20, :25] = True
    values = features(np.where(corner, 150.0, 60.0), corner)
    assert all(math.isfinite(v) for v in values.values())
    everything = features(np.random.default_rng(0).normal(100, 5, (40, 40)), np.ones((40, 40), bool))
    assert all(math.isfinite(v) for v in everything.values())
    # A mass darker than its surround has no positive contrast: acutance 0.
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 48) ** 2 + (xx - 48) ** 2 <= 20**2
    assert features(np.where(disc, 50.0, 150.0), disc)["mass_acutance"] == 0.0


def test_integer_and_float_images_agree(base):
    image, mask, _ = base
    as_int = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    f_int = features(as_int, mask)
    f_float = features(as_int.astype(np.float64), mask)
    assert f_int == pytest.approx(f_float, rel=1e-9, abs=1e-9)


def test_bad_input():
    image = np.zeros((20, 20))
    mask = np.zeros((20, 20), bool)
    with pytest.raises(FeatureError, match="shape"):
        features(image, np.zeros((10, 20), bool))
    with pytest.raises(FeatureError, match="boolean"):
        features(image, np.full((20, 20), 2))
    with pytest.raises(FeatureError, match="pixel_spacing_mm"):
        features(image, mask, spacing=0.0)
    bad = np.full((40, 40), np.nan)
    disc = np.zeros((40, 40), bool)
    disc[10:30, 10:30] = True
    with pytest.raises(FeatureError, match="NaN"):
        features(bad, disc)


@pytest.mark.slow
def test_synthetic_spiculated_and_circumscribed_masses_are_separated():
    """Issue 14: the mass features tell synthetic spiculated from circumscribed masses apart
    (cross-validated AUC >= 0.95), segmenting each mass in its ROI as a user would."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from mammocad.features import mass_features
    from mammocad.io import ROI
    from mammocad.models import make_model
    from mammocad.segment import segment_mass
    from mammocad.synth import make_case

    rows, labels = [], []
    wanted = {"circumscribed": 20, "spiculated": 20}
    seed = 100
    while any(wanted.values()):
        pathology = "benign" if wanted["circumscribed"] >= wanted["spiculated"] else "malignant"
        case = make_case(seed, abnormality="mass", pathology=pathology, size=384, pixel_spacing_mm=0.15)
        seed += 1
        (lesion,) = case.lesions
        if wanted.get(lesion.subtype, 0) == 0:
            continue
        wanted[lesion.subtype] -= 1
        image, s = case.mammogram.pixels, case.mammogram.pixel_spacing_mm
        mask = segment_mass(image, ROI(lesion.x, lesion.y, lesion.radius), pixel_spacing_mm=s).mask
        values = mass_features(image, mask, pixel_spacing_mm=s)
        values.update(margin_features(image, mask, pixel_spacing_mm=s))
        rows.append([values[name] for name in values])
        labels.append(int(lesion.subtype == "spiculated"))
    X, y = np.array(rows), np.array(labels)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    score = cross_val_predict(make_model("logreg"), X, y, cv=cv, method="predict_proba")[:, 1]
    assert roc_auc_score(y, score) >= 0.95


# --- the extended set through the pipeline and the command line ---------------------------


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from mammocad.synth import make_cohort

    folder = tmp_path_factory.mktemp("cohort")
    make_cohort(8, folder, seed=5, size=256, pixel_spacing_mm=0.2)
    return folder


@pytest.mark.slow
def test_measure_lesion_table_with_the_extended_set(cohort, tmp_path):
    from mammocad.features.registry import feature_names
    from mammocad.pipeline import measure_lesion_table

    out = tmp_path / "features.parquet"
    extended = measure_lesion_table(cohort / "lesions.csv", out, progress=False, feature_set="extended")
    assert list(extended.columns[6 : 6 + 48]) == feature_names("extended") == extended.attrs["features"]
    assert extended[list(MARGIN_FEATURES)].notna().all().all()
    assert extended.attrs["computed"] == len(extended)
    # The paper's 41 are the same measurement with either set.
    paper = measure_lesion_table(cohort / "lesions.csv", tmp_path / "paper.parquet", progress=False)
    assert paper[feature_names("paper")].equals(extended[feature_names("paper")])
    # Another set is another setting: the rows are measured again, without the 7 columns.
    again = measure_lesion_table(cohort / "lesions.csv", out, progress=False)
    assert again.attrs["computed"] == len(again) and not set(MARGIN_FEATURES) & set(again.columns)
    with pytest.raises(FeatureError, match="unknown feature set 'margins'"):
        measure_lesion_table(cohort / "lesions.csv", out, progress=False, feature_set="margins")


@pytest.mark.slow
def test_train_and_predict_with_the_extended_set(cohort, tmp_path):
    from mammocad.pipeline import analyse_lesion, load_model, measure_lesion_table, train
    from mammocad.pipeline.reproduce import experiment_scenarios
    from mammocad.synth import make_case

    table = measure_lesion_table(
        cohort / "lesions.csv", tmp_path / "f.parquet", progress=False, feature_set="extended"
    )
    outcome = train(table, "lda", tmp_path / "model", scenario="mass", feature_set="extended", n_splits=2)
    assert len(outcome.feature_names) == 33 and outcome.feature_names[-7:] == MARGIN_FEATURES
    assert outcome.metadata["feature_set"] == "extended"
    # A model trained on margin features gets them measured when it predicts.
    case = make_case(8, abnormality="mass", size=256, pixel_spacing_mm=0.2)
    analysis = analyse_lesion(case.mammogram, case.lesions[0].roi, model=load_model(tmp_path / "model"))
    assert set(MARGIN_FEATURES) <= set(analysis.features) and 0 <= analysis.probability <= 1
    assert len(analyse_lesion(case.mammogram, case.lesions[0].roi).features) == 41
    scenarios = experiment_scenarios(["calcification", "mass", "combined"], "extended")
    assert list(scenarios) == ["calcification", "mass", "mass_extended", "combined", "combined_extended"]
    assert scenarios["combined_extended"][-7:] == list(MARGIN_FEATURES)


@pytest.mark.slow
def test_cli_feature_set_option(cohort, tmp_path):
    from typer.testing import CliRunner

    from mammocad.cli import app
    from mammocad.features import read_feature_table

    runner = CliRunner()
    out = tmp_path / "f.csv"
    result = runner.invoke(
        app, ["features", str(cohort / "lesions.csv"), "--out", str(out), "--feature-set", "extended", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert set(MARGIN_FEATURES) <= set(read_feature_table(out).columns)
    bad = runner.invoke(
        app, ["features", str(cohort / "lesions.csv"), "--out", str(out), "--feature-set", "all"]
    )
    assert bad.exit_code == 1 and "error: unknown feature set 'all'" in bad.output
    paper_table = tmp_path / "paper.csv"
    runner.invoke(app, ["features", str(cohort / "lesions.csv"), "--out", str(paper_table), "-q"])
    missing = runner.invoke(
        app,
        [
            "train",
            str(paper_table),
            "--model",
            "lda",
            "--out",
            str(tmp_path / "m"),
            "--feature-set",
            "extended",
        ],
    )
    assert missing.exit_code == 1 and "missing feature column(s) mass_line_convergence" in missing.output


def _extended_table(n: int = 40, seed: int = 0):
    """A feature table with the extended set's columns: the margin features carry the label."""
    import pandas as pd

    from mammocad.features.registry import feature_names

    rng = np.random.default_rng(seed)
    label = np.arange(n) % 2
    names = feature_names("extended")
    X = rng.normal(size=(n, len(names))) + 1.5 * label[:, None] * np.isin(names, MARGIN_FEATURES)
    ids = pd.DataFrame(
        {
            "lesion_id": [f"L{i}" for i in range(n)],
            "patient_id": [f"P{i}" for i in range(n)],
            "abnormality": "mass",
            "pathology": np.where(label == 1, "malignant", "benign"),
            "label": label,
            "split": "",
        }
    )
    return pd.concat([ids, pd.DataFrame(X, columns=names)], axis=1)


def test_cli_train_and_reproduce_report_the_paper_set_beside_the_extended(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from mammocad.cli import app
    from mammocad.features.registry import scenario_columns

    runner = CliRunner()
    table = tmp_path / "features.csv"
    _extended_table().to_csv(table, index=False)
    model = tmp_path / "model"
    args = ["train", str(table), "-m", "lda", "-s", "mass", "--folds", "3", "-o", str(model)]
    trained = runner.invoke(app, [*args, "--feature-set", "extended"])
    assert trained.exit_code == 0, trained.output
    assert "(mass, extended set, 33 features" in trained.output
    assert "beside it, lda (mass, paper set, 26 features)" in trained.output
    meta = json.loads((model / "model.json").read_text())
    assert meta["feature_names"][-7:] == list(MARGIN_FEATURES)
    # The margin features carry the label here, so the extended model must be the better one.
    extended_cv = meta["metadata"]["metrics"]["cv_accuracy_mean"]
    assert extended_cv > meta["metadata"]["paper_set"]["metrics"]["cv_accuracy_mean"] + 0.2
    plain = runner.invoke(app, args)  # the paper's set: nothing beside it
    assert plain.exit_code == 0 and "beside it" not in plain.output

    out = tmp_path / "run"
    common = [
        "--models",
        "lda",
        "--scenarios",
        "calcification,mass",
        "--n-splits",
        "3",
        "--n-bootstrap",
        "50",
    ]
    res = runner.invoke(
        app, ["reproduce", str(table), "--out", str(out), *common, "--feature-set", "extended"]
    )
    assert res.exit_code == 0, res.output
    scenarios = json.loads((out / "results.json").read_text())["scenarios"]
    assert list(scenarios) == ["calcification", "mass", "mass_extended"]  # calcification gains nothing
    assert scenarios["mass_extended"]["columns"] == scenario_columns("mass", "extended")
    rows = pd.read_csv(out / "results.csv")
    assert set(rows.scenario) == {"calcification", "mass", "mass_extended"}
    assert "with the margin features (extended set)" in (out / "report.html").read_text()
    assert (out / "roc_mass_extended.png").is_file()
    auc = rows.set_index("scenario")["auc"]
    assert auc["mass_extended"] > auc["mass"]

    # A table measured with the paper's set: one error naming the columns and the option.
    paper = tmp_path / "paper.csv"
    _extended_table().drop(columns=list(MARGIN_FEATURES)).to_csv(paper, index=False)
    for cmd in (
        [*args[:1], str(paper), *args[2:], "--feature-set", "extended"],
        ["reproduce", str(paper), "--out", str(out), *common, "--feature-set", "extended"],
    ):
        bad = runner.invoke(app, cmd)
        assert bad.exit_code == 1, bad.output
        assert bad.output.startswith(f"error: {paper}: missing feature column(s) mass_line_convergence,")
        assert bad.output.rstrip().endswith("(mammocad features --feature-set extended)")
        assert len(bad.output.strip().splitlines()) == 1
