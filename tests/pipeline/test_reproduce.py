"""``mammocad reproduce`` and ``mammocad demo`` end to end (tiny inputs, real models)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.errors import MammocadError
from mammocad.features import FEATURE_NAMES, scenario_columns
from mammocad.pipeline import load_features, run_demo

runner = CliRunner()


def _feature_table(n_patients: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.arange(n_patients) % 2
    X = rng.normal(size=(n_patients, len(FEATURE_NAMES))) + 1.2 * label[:, None] * (
        np.arange(len(FEATURE_NAMES)) % 3 == 0
    )
    table = pd.DataFrame(X, columns=list(FEATURE_NAMES))
    ids = pd.DataFrame(
        {
            "lesion_id": [f"L{i}" for i in range(n_patients)],
            "patient_id": [f"P{i}" for i in range(n_patients)],
            "abnormality": np.where(np.arange(n_patients) % 4 < 2, "calcification", "mass"),
            "pathology": np.where(label == 1, "malignant", "benign"),
            "label": label,
            "split": "",
        }
    )
    return pd.concat([ids, table], axis=1)


def test_reproduce_on_a_feature_table(tmp_path):
    data = tmp_path / "features.csv"
    _feature_table().to_csv(data, index=False)
    out = tmp_path / "run"
    args = [
        "reproduce",
        str(data),
        "--out",
        str(out),
        "--models",
        "lda,logreg",
        "--scenarios",
        "calcification,combined",
        "--n-splits",
        "3",
        "--n-bootstrap",
        "50",
        "--seed",
        "1",
        "--quiet",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["scenarios"]) == {"calcification", "combined"}
    assert results["scenarios"]["combined"]["columns"] == list(scenario_columns("combined"))
    assert results["config"]["seed"] == 1
    assert (out / "report.html").is_file() and (out / "roc_combined.png").is_file()
    table = pd.read_csv(out / "results.csv")
    assert set(table.model) == {"lda", "logreg"} and len(table) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reproduce", "missing.csv", "--out", "o"], "no such file"),
        (["reproduce", "{data}", "--out", "o", "--split-column", "split"], "'split'"),
        (["reproduce", "{data}", "--out", "o", "--scenarios", "nope"], "scenario"),
        (["reproduce", "{data}", "--out", "o", "--models", "nope", "--n-splits", "3"], "nope"),
        (["reproduce", "{data}", "--out", "o", "--test-fraction", "1.5"], "test_fraction"),
    ],
)
def test_reproduce_bad_input(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    _feature_table().to_csv(tmp_path / "f.csv", index=False)
    res = runner.invoke(app, [a.replace("{data}", "f.csv") for a in args] + ["--quiet"])
    assert res.exit_code == 1
    assert res.output.startswith("error:") and message in res.output


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_caches_features(tmp_path):
    # Two fast models keep the test short; the SAE and SVM run in the demo itself.
    runs = run_demo(
        tmp_path,
        n=12,
        seed=0,
        progress=False,
        n_splits=2,
        n_bootstrap=50,
        models=("lda", "logreg"),
        cohort_options={"size": 512, "pixel_spacing_mm": 0.2},
    )
    run = runs["synthetic"]
    assert (tmp_path / "report.html").is_file() and (tmp_path / "data" / "lesions.csv").is_file()
    assert (tmp_path / "features.parquet").is_file()
    assert set(run.result.scenarios) == {"calcification", "mass", "combined"}
    assert run.result.config["models"] == ["lda", "logreg"]
    html = (tmp_path / "report.html").read_text()
    assert "synthetic cohort" in html
    again, _ = load_features(tmp_path / "data" / "lesions.csv", tmp_path, progress=False)
    assert again.attrs["computed"] == 0 and len(again) == len(run.features)
    # Asking for another cohort in the same folder is refused, not silently mislabelled.
    with pytest.raises(MammocadError, match="other parameters"):
        run_demo(tmp_path, n=18, seed=0, progress=False, models=("lda",), cohort_options={"size": 512})
