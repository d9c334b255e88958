"""Figures and the HTML report, from an experiment run on a tiny table."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from mammocad.errors import MammocadError
from mammocad.evaluation import run_experiment
from mammocad.evaluation.paper import PAPER_TABLES
from mammocad.models import MODEL_LABELS
from mammocad.report import feature_auc_figure, honest_reading, roc_curve_points, roc_figure, write_report

_spec = importlib.util.spec_from_file_location(
    "_eval_fixtures_for_report", Path(__file__).parents[1] / "evaluation" / "_eval_fixtures.py"
)
fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fixtures
_spec.loader.exec_module(fixtures)

#: The paper's text sits beside the data folder (``../shared/reference`` next to ``../shared/data``).
REFERENCE = (
    Path(os.environ.get("MAMMOCAD_DATA", Path(__file__).parents[2] / ".." / "shared" / "data")).parent
    / "reference"
    / "wang2016-microcalcification-sae.txt"
)


@pytest.fixture(scope="module")
def result():
    return run_experiment(
        fixtures.make_table(n_patients=30),
        scenarios=fixtures.SCENARIOS,
        models=("sae", "knn", "lr"),
        n_splits=3,
        n_bootstrap=50,
        select=fixtures.stand_in_select,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_roc_points_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 50)
    s = np.round(y + rng.normal(size=50), 1)  # ties
    fpr, tpr = roc_curve_points(y, s)
    ref_fpr, ref_tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, s))


def test_roc_points_need_both_classes():
    with pytest.raises(MammocadError, match="both"):
        roc_curve_points([1, 1], [0.2, 0.3])


def test_figures_draw_every_model(result):
    fig = roc_figure(result, "combined")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 3 and labels[0].startswith(MODEL_LABELS["sae"])
    fig4 = feature_auc_figure(result, "calcification", n_curves=2)
    assert len(fig4.axes[1].patches) == 3  # one bar per calcification feature
    with pytest.raises(MammocadError, match="scenario"):
        roc_figure(result, "nope")


def test_report_is_self_contained(tmp_path, result):
    path = write_report(result, tmp_path, dataset_name="toy", links={"other": "mias/report.html"})
    html = path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), (
        "the report must not load external assets"
    )
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 4  # three ROC figures + Fig. 4
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    for name in ("roc_calcification.png", "roc_mass.png", "roc_combined.png", "feature_auc.png"):
        assert (tmp_path / name).stat().st_size > 1000
    # Paper's numbers in the side column, ours with intervals, configuration and versions.
    assert "87.3%" in html and "0.82 ± 0.05" in html and "89.7%" in html
    auc = result.scenarios["combined"].models["sae"].test.point.auc
    assert f"{auc:.2f}" in html
    assert "scikit-learn" in html and "Table 4" in html and 'href="mias/report.html"' in html


def test_honest_reading_follows_the_numbers(result):
    text = " ".join(honest_reading(result, "combined"))
    for mname, m in result.scenarios["combined"].models.items():
        if mname == "sae":
            continue
        d = m.delong_vs_reference
        higher = MODEL_LABELS["sae"] if d.difference > 0 else mname.upper()
        verdict = (
            f"significant difference at the 5% level ({higher} higher)" if d.p_value < 0.05 else "no evidence"
        )
        assert f"vs {mname.upper()}" in text
        assert verdict in text
    assert "percentage points wide" in text


def test_paper_tables_match_the_paper_text():
    if not REFERENCE.is_file():
        pytest.skip(f"paper text not found at {REFERENCE}")
    text = REFERENCE.read_text()
    rows = re.findall(
        r"^(SVM|KNN \(N = +\d\)|LDA|SAE) (\d+\.\d)% ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) ± +([\d.]+)",
        text,
        re.M,
    )
    assert len(rows) == 12
    for k, row in enumerate(rows):
        scenario = ("calcification", "mass", "combined")[k // 4]
        model = row[0].split()[0].lower()
        paper = PAPER_TABLES[scenario][model]
        got = [float(v) for v in row[1:]]
        assert paper["accuracy"] == pytest.approx(got[0] / 100)
        assert [paper[m] for m in ("sensitivity", "specificity", "auc", "cv_mean", "cv_std")] == got[1:]
