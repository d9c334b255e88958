"""The experiment: patient-level split, no leakage, determinism, outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _eval_fixtures import SCENARIOS, make_table, stand_in_select
from sklearn.preprocessing import StandardScaler

from mammocad.errors import DatasetError, MammocadError
from mammocad.evaluation.experiment import run_experiment, split_patients

FAST = dict(scenarios=SCENARIOS, models=("sae", "knn"), n_splits=3, n_bootstrap=50, select=stand_in_select)


def test_split_is_by_patient_and_stratified():
    rng = np.random.default_rng(0)
    pid = rng.integers(0, 50, 300).astype(str)
    label = (pid.astype(int) % 3 == 0).astype(int)
    test = split_patients(pid, label, test_fraction=0.2, random_state=1)
    assert not set(pid[test]) & set(pid[~test])
    patients = pd.DataFrame({"p": pid, "y": label, "t": test}).groupby("p").first()
    for cls in (0, 1):
        frac = patients.loc[patients.y == cls, "t"].mean()
        assert frac == pytest.approx(0.2, abs=0.05)
    assert np.array_equal(test, split_patients(pid, label, test_fraction=0.2, random_state=1))
    assert not np.array_equal(test, split_patients(pid, label, test_fraction=0.2, random_state=2))


def test_run_experiment_outputs(tmp_path, feature_table):
    res = run_experiment(feature_table, tmp_path, **FAST)
    split = res.split
    assert not set(split.patient_id[split.split == "test"]) & set(split.patient_id[split.split == "train"])
    assert set(res.scenarios) == {"calcification", "mass", "combined"}
    calc = res.scenarios["calcification"]
    assert calc.n_train + calc.n_test == len(feature_table)
    assert calc.models["sae"].delong_vs_reference is None
    assert 0 <= calc.models["knn"].delong_vs_reference.p_value <= 1
    assert len(calc.models["sae"].cv_scores) == 3
    # The signal is strong: the model must do better than chance on the test group.
    assert res.scenarios["combined"].models["sae"].test.point.auc > 0.7

    def no_nan(token):
        raise AssertionError(f"results.json holds {token}: not strict JSON")

    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=no_nan)
    assert data["scenarios"]["mass"]["models"]["knn"]["test"]["ci"]["auc"]["method"] == "delong"
    table = pd.read_csv(tmp_path / "results.csv")
    assert len(table) == 6 and {"accuracy_ci_low", "cv_accuracy_std", "delong_p_vs_sae"} <= set(table.columns)
    preds = pd.read_csv(tmp_path / "predictions.csv")
    assert set(preds.lesion_id) == set(split.lesion_id[split.split == "test"])
    assert (preds.model == "feature:calc_a").any()
    # The oriented feature AUC chosen on training is at least 0.5 on training.
    assert (calc.feature_auc.auc_train >= 0.5).all()


def test_same_seed_same_numbers_other_seed_other_split(feature_table):
    a = run_experiment(feature_table, seed=3, **FAST).table()
    b = run_experiment(feature_table, seed=3, **FAST).table()
    pd.testing.assert_frame_equal(a, b)
    c = run_experiment(feature_table, seed=4, **FAST)
    assert not c.table().equals(a)


def test_patient_split_prevents_duplicate_leakage():
    # Each patient has 6 identical lesions and a random label; features carry no signal.
    # A lesion-level split would let 1-NN find the twin in training: accuracy ~ 1.
    rng = np.random.default_rng(1)
    base = make_table(n_patients=60, lesions_per_patient=1, seed=1, signal=0.0)
    base["label"] = rng.integers(0, 2, len(base))
    dup = pd.concat([base.assign(lesion_id=base.lesion_id + f"-{k}") for k in range(6)], ignore_index=True)
    res = run_experiment(
        dup,
        scenarios={"combined": SCENARIOS["combined"]},
        models=("knn1",),
        n_splits=3,
        n_bootstrap=20,
        select=stand_in_select,
        seed=0,
    )
    m = res.scenarios["combined"].models["knn1"]
    assert m.test.point.accuracy < 0.8
    assert m.cv_mean < 0.8


def test_scaler_is_fitted_on_training_folds_only(monkeypatch, feature_table):
    seen: list[set[float]] = []
    original = StandardScaler.fit

    def recording_fit(self, X, y=None, sample_weight=None):
        seen.append({round(float(v), 12) for v in np.asarray(X)[:, 0]})
        return original(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(StandardScaler, "fit", recording_fit)
    res = run_experiment(
        feature_table, **{**FAST, "scenarios": {"calcification": SCENARIOS["calcification"]}}
    )
    split = res.split.set_index("lesion_id")
    ft = feature_table.set_index("lesion_id")
    test_vals = {round(float(v), 12) for v in ft.loc[split.split == "test", "calc_a"]}
    train_vals = {round(float(v), 12) for v in ft.loc[split.split == "train", "calc_a"]}
    assert seen, "the scaler was never fitted: the recorder is not wired"
    assert all(not (s & test_vals) for s in seen), "a scaler saw test lesions"
    in_fold = [s for s in seen if s < train_vals]
    assert len(in_fold) >= 3 * 2, "CV fits must use strict subsets of the training group"


def test_given_split_column(feature_table):
    ft = feature_table.copy()
    ft["split"] = np.where(ft.patient_id.str[-1].astype(int) < 3, "test", "train")
    res = run_experiment(ft, split_column="split", **FAST)
    assert (res.split.split.to_numpy() == ft.split.to_numpy()).all()
    ft.loc[0, "split"] = "test" if ft.loc[0, "split"] == "train" else "train"
    with pytest.raises(DatasetError, match="both train and test"):
        run_experiment(ft, split_column="split", **FAST)
    ft.loc[0, "split"] = "maybe"
    with pytest.raises(DatasetError, match="row 0"):
        run_experiment(ft, split_column="split", **FAST)


def test_non_finite_rows_are_dropped_and_counted(feature_table):
    ft = feature_table.copy()
    ft.loc[ft.abnormality == "mass", "calc_a"] = np.nan
    res = run_experiment(ft, **FAST)
    assert res.scenarios["calcification"].n_dropped == (ft.abnormality == "mass").sum()
    assert res.scenarios["mass"].n_dropped == 0


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda d: d.drop(columns="patient_id"), DatasetError, "patient_id"),
        (lambda d: d.assign(label=2), DatasetError, "expected 0 or 1"),
        (lambda d: d.assign(label=0), DatasetError, "one class"),
        (lambda d: d.drop(columns="mass_b"), DatasetError, "mass_b"),
        (lambda d: d.iloc[:0], DatasetError, "no rows"),
    ],
)
def test_bad_tables(feature_table, change, error, match):
    with pytest.raises(error, match=match):
        run_experiment(change(feature_table), **FAST)


def test_bad_arguments(feature_table):
    with pytest.raises(MammocadError, match="test_fraction"):
        run_experiment(feature_table, test_fraction=1.5, **FAST)
    with pytest.raises(MammocadError, match="n_splits"):
        run_experiment(feature_table, **{**FAST, "n_splits": 1})


def test_json_values_are_strict():
    from mammocad.evaluation.experiment import _jsonable

    got = _jsonable({"a": float("nan"), "b": (1, np.float32(2.5)), "c": {"d": np.inf}, 3: "x"})
    assert got == {"a": None, "b": [1, 2.5], "c": {"d": None}, "3": "x"}
    json.dumps(got, allow_nan=False)


def test_written_csvs_are_safe_to_open_in_a_spreadsheet(tmp_path, feature_table):
    """Identifiers that a spreadsheet would run as formulas are written inert (issue 16)."""
    table = feature_table.copy()
    table["lesion_id"] = [f'=HYPERLINK("http://x/{i}")' if i % 3 == 0 else f"-{i}" for i in range(len(table))]
    table["patient_id"] = "@" + table["patient_id"]
    run_experiment(table, tmp_path, **FAST)
    for name in ("predictions.csv", "split.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        cells = [c.strip('"') for line in text.splitlines() for c in line.split(",")]
        assert not [c for c in cells if c[:1] in ("=", "@")], name
        assert "'=HYPERLINK(" in text and "'@P" in text, name
        # "-4" is a plain number: left as it is
        assert any(c[:1] == "-" and c[1:].isdigit() for c in cells) and "'-" not in text, name
