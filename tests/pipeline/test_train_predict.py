"""``mammocad train`` and ``mammocad predict``: model directories, JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.features import FEATURE_NAMES, scenario_columns
from mammocad.models import load_model
from mammocad.pipeline import train_model

runner = CliRunner()


def _table(n_patients: int = 30, seed: int = 0) -> pd.DataFrame:
    """Two lesions per patient; calcification features carry the label, others are noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = p % 2
        for k in range(2):
            feats = rng.normal(size=len(FEATURE_NAMES))
            row = dict(zip(FEATURE_NAMES, feats, strict=True))
            for name in scenario_columns("calcification")[:3]:
                row[name] += 2.0 * label
            rows.append(
                dict(
                    lesion_id=f"L{p}-{k}",
                    patient_id=f"P{p}",
                    abnormality="calcification",
                    pathology="malignant" if label else "benign",
                    label=label,
                    split="test" if p >= n_patients - 8 else "train",
                    **row,
                )
            )
    return pd.DataFrame(rows)


def _write(table: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_train_writes_a_model_directory_with_cv_and_test_metrics(tmp_path: Path, suffix: str) -> None:
    features = _write(_table(), tmp_path / f"features{suffix}")
    out = tmp_path / "model"
    args = [
        "train",
        str(features),
        "--model",
        "lda",
        "--scenario",
        "calcification",
        "--out",
        str(out),
        "--folds",
        "4",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4-fold CV accuracy" in result.stdout and "test AUC" in result.stdout
    model = load_model(out)
    meta = model.metadata["metadata"]
    assert model.feature_names == tuple(scenario_columns("calcification"))
    assert meta["n_train"] == 44 and meta["n_test"] == 16 and meta["scenario"] == "calcification"
    assert meta["metrics"]["cv_accuracy_mean"] > 0.8 and meta["metrics"]["test_auc"] > 0.8
    assert len(model.metadata["training_data_sha256"]) == 64


def test_train_model_uses_all_rows_without_a_split() -> None:
    table = _table().drop(columns="split")
    outcome = train_model(table, "knn", scenario="mass", n_splits=3, grid={"clf__n_neighbors": [5]})
    assert outcome.metadata["n_train"] == len(table) and outcome.metadata["n_test"] == 0
    assert outcome.feature_names == tuple(scenario_columns("mass"))


def _fails(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr


def test_train_errors_are_one_line(tmp_path: Path) -> None:
    table = _table()
    name = scenario_columns("calcification")[4]
    table.loc[3, name] = np.nan
    bad = _write(table, tmp_path / "nan.csv")
    common = ["--model", "lda", "--scenario", "calcification", "--out", str(tmp_path / "m")]
    _fails(
        ["train", str(bad), *common], f"NaN or infinite feature values in column(s) {name} for lesion(s) L1-1"
    )
    one_class = _table()
    one_class["label"] = 0
    _fails(["train", str(_write(one_class, tmp_path / "one.csv")), *common], "at least 2 classes")
    ok = _write(_table(), tmp_path / "ok.csv")
    _fails(["train", str(ok), "--model", "rf", "--out", str(tmp_path / "m")], "unknown model 'rf'")
    _fails(["train", str(ok), "--model", "lda", "--scenario", "lungs", "--out", str(tmp_path / "m")], "lungs")
    _fails(["train", str(tmp_path / "none.csv"), *common], "no such feature table")
    assert not (tmp_path / "m").exists()


def test_predict_prints_json_for_a_synthetic_lesion(tmp_path: Path) -> None:
    from PIL import Image

    from mammocad.synth import make_case

    features = _write(_table(), tmp_path / "features.csv")
    out = tmp_path / "model"
    trained = runner.invoke(
        app,
        [
            "train",
            str(features),
            "--model",
            "logreg",
            "--scenario",
            "combined",
            "--out",
            str(out),
            "--folds",
            "3",
        ],
    )
    assert trained.exit_code == 0, trained.output
    case = make_case(0, abnormality="calcification", pathology="malignant", size=512)
    image = tmp_path / "case.png"
    Image.fromarray(case.mammogram.pixels).save(image)
    lesion = case.lesions[0]
    roi = f"{lesion.x},{lesion.y},{lesion.radius}"
    result = runner.invoke(app, ["predict", str(out), str(image), "--roi", roi, "--pixel-spacing", "0.1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert 0.0 <= report["probability_malignant"] <= 1.0 and report["model"] == "logreg"
    assert list(report["features"]) == list(FEATURE_NAMES)
    assert report["prediction"] in ("benign", "malignant")


def test_predict_errors_are_one_line(tmp_path: Path) -> None:
    _fails(
        ["predict", str(tmp_path / "nowhere"), str(tmp_path / "x.png"), "--roi", "1,2,3"],
        "no such model directory",
    )
