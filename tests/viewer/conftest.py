"""Fixtures of the viewer tests: small synthetic mammograms as upload bytes, a tiny model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from _viewer_helpers import dicom_bytes, png_bytes


@dataclass(frozen=True)
class Case:
    """A synthetic mammogram with one calcification cluster and one mass."""

    pixels: np.ndarray  # uint8
    pixel_spacing_mm: float
    calc_roi: tuple[float, float, float]  # x, y, radius
    mass_roi: tuple[float, float, float]


@pytest.fixture(scope="session")
def case() -> Case:
    from mammocad.synth import make_case

    made = make_case(3, abnormality="both", pathology="malignant", size=512)
    rois = {les.abnormality: (float(les.x), float(les.y), float(les.radius)) for les in made.lesions}
    return Case(
        pixels=np.asarray(made.mammogram.pixels),
        pixel_spacing_mm=float(made.mammogram.pixel_spacing_mm),
        calc_roi=rois["calcification"],
        mass_roi=rois["mass"],
    )


@pytest.fixture(scope="session")
def case_png(case: Case) -> bytes:
    return png_bytes(case.pixels)


@pytest.fixture(scope="session")
def case_dicom(case: Case) -> bytes:
    return dicom_bytes(case.pixels, case.pixel_spacing_mm)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny LDA over the 41 features, saved with mammocad.models.save_model.

    It is fitted on random features whose label depends on the first one, and its
    recorded test AUC is measured on held-out rows of the same kind: a fixture,
    not a diagnostic model (its name says so).
    """
    models = pytest.importorskip("mammocad.models")
    from sklearn.metrics import roc_auc_score

    from mammocad.features import FEATURE_NAMES

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, len(FEATURE_NAMES)))
    y = (X[:, 0] + rng.normal(size=120) > 0).astype(int)
    estimator = models.make_model("lda", random_state=0).fit(X[:60], y[:60])
    test_auc = float(roc_auc_score(y[60:], estimator.predict_proba(X[60:])[:, 1]))
    out = tmp_path_factory.mktemp("model") / "lda"
    models.save_model(
        out,
        estimator,
        feature_names=list(FEATURE_NAMES),
        metadata={"model": "lda-fixture", "metrics": {"test_auc": test_auc}},
    )
    return out
