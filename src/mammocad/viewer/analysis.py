"""The library calls behind the viewer: candidates, segmentation, features, model.

Everything here is a thin wrapper over :mod:`mammocad.segment`,
:mod:`mammocad.features` and :mod:`mammocad.models`, imported when first used so
that the viewer starts (and says clearly what is missing) even in a partial
install. Results are plain values that the web layer turns into JSON and PNGs.
"""

from __future__ import annotations

import base64
import importlib
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mammocad.errors import FeatureError, MammocadError, ModelError
from mammocad.io import ROI, Mammogram, normalise, to_uint8

__all__ = [
    "StageUnavailable",
    "ModelInfo",
    "Analysis",
    "load_model_info",
    "feature_catalogue",
    "find_candidates",
    "analyse",
    "overlay_png",
    "display_png",
    "analysis_to_dict",
]


class StageUnavailable(MammocadError, RuntimeError):
    """A pipeline stage the viewer needs is not part of this install."""


def _stage(module: str, name: str) -> Any:
    """Import ``mammocad.<module>.<name>`` or raise :class:`StageUnavailable`."""
    try:
        return getattr(importlib.import_module(f"mammocad.{module}"), name)
    except (ImportError, AttributeError):
        raise StageUnavailable(
            f"{name} is not available yet: mammocad.{module} does not provide it in this install"
        ) from None


@dataclass(frozen=True)
class ModelInfo:
    """A loaded classifier and what the page shows about it.

    Attributes
    ----------
    name : str
        The model's name (e.g. ``"sae"``) from its metadata.
    test_auc : float or None
        Its area under the ROC curve on the held-out test set, where recorded.
    feature_names : tuple of str
        The feature columns it expects, in order.
    model_dir : str
        Folder it was loaded from (shown to the local user only).
    estimator : mammocad.models.TrainedModel
        The loaded model (its ``estimator`` has ``predict_proba``).
    """

    name: str
    test_auc: float | None
    feature_names: tuple[str, ...]
    model_dir: str
    estimator: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (without the estimator)."""
        return {
            "name": self.name,
            "test_auc": self.test_auc,
            "n_features": len(self.feature_names),
        }


def _metadata_value(metadata: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = metadata
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            return value
    return None


#: Where :func:`load_model_info` looks for the test AUC in a model's metadata, in order.
TEST_AUC_KEYS = (
    "metadata.metrics.test_auc",
    "metadata.metrics.test.auc",
    "metadata.metrics.auc_test",
    "metadata.test_auc",
    "metrics.test_auc",
    "test_auc",
)


def load_model_info(model_dir: str) -> ModelInfo:
    """Load a saved model with :func:`mammocad.models.load_model`.

    The test AUC is looked up in the saved metadata under the first of
    :data:`TEST_AUC_KEYS` present (dotted paths into ``model.json``).

    Raises
    ------
    ModelError
        If the folder does not hold a model mammocad saved, or its recorded test
        AUC is not a number.
    StageUnavailable
        If :mod:`mammocad.models` is not installed.
    """
    load_model = _stage("models", "load_model")
    trained = load_model(model_dir)
    metadata = dict(getattr(trained, "metadata", {}) or {})
    name = getattr(trained, "name", None) or _metadata_value(metadata, "model", "metadata.name") or "unnamed"
    auc = _metadata_value(metadata, *TEST_AUC_KEYS)
    if isinstance(auc, dict):  # e.g. {"value": 0.87, "ci": [...]}
        auc = auc.get("value", auc.get("auc"))
    try:
        auc = None if auc is None else float(auc)
    except (TypeError, ValueError):
        raise ModelError(f"{model_dir}: metadata test AUC {auc!r} is not a number") from None
    return ModelInfo(
        name=str(name),
        test_auc=auc if auc is None or math.isfinite(auc) else None,
        feature_names=tuple(trained.feature_names),
        model_dir=str(model_dir),
        estimator=trained,
    )


def feature_catalogue() -> list[dict[str, Any]]:
    """The registry's 41 features, in order: name, group, unit, definition, formula."""
    features = _stage("features", "FEATURES")
    return [
        {
            "name": spec.name,
            "group": spec.group,
            "unit": spec.unit,
            "definition": spec.definition,
            "formula": spec.formula,
        }
        for spec in features
    ]


def _spacing(mammogram: Mammogram, override: float | None) -> float:
    spacing = override if override is not None else mammogram.pixel_spacing_mm
    if spacing is None:
        raise FeatureError(
            f"{mammogram.source or 'image'}: pixel spacing unknown; enter it in millimetres per pixel"
        )
    if not (math.isfinite(spacing) and spacing > 0):
        raise FeatureError(f"pixel_spacing_mm must be a positive number of millimetres, got {spacing}")
    return float(spacing)


def _paper_grid(mammogram: Mammogram, spacing: float) -> Mammogram:
    """The image on the paper's 1024-pixel, 8-bit grid, where features are measured."""
    return normalise(mammogram.replace(pixel_spacing_mm=spacing, scale=1.0))


def _grid_spacing(grid: Mammogram) -> float:
    if grid.pixel_spacing_mm is None:  # pragma: no cover - _paper_grid always sets it
        raise MammocadError("internal: the analysis grid has no pixel spacing")
    return float(grid.pixel_spacing_mm)


def find_candidates(mammogram: Mammogram, *, pixel_spacing_mm: float | None = None) -> list[dict[str, Any]]:
    """Automatic lesion candidates, best first, as ``{kind, x, y, radius, score}``.

    Candidates are found on the paper's 1024-pixel grid (as features are
    measured there) and given in the pixel coordinates of ``mammogram``.
    """
    detect_candidates = _stage("segment", "detect_candidates")
    spacing = _spacing(mammogram, pixel_spacing_mm)
    grid = _paper_grid(mammogram, spacing)
    found = detect_candidates(grid.pixels, pixel_spacing_mm=_grid_spacing(grid))
    back = 1.0 / grid.scale
    return [
        {
            "kind": str(c.kind),
            "x": float(c.roi.x) * back,
            "y": float(c.roi.y) * back,
            "radius": float(c.roi.radius) * back,
            "score": _finite_or_none(c.score),
        }
        for c in found
    ]


@dataclass(frozen=True, eq=False)
class Analysis:
    """Segmentation, features and probability for one ROI of one image.

    Segmentation and features are computed on ``grid``, the image brought to the
    paper's 1024-pixel grid (:func:`mammocad.io.normalise`), exactly as
    :func:`mammocad.features.extract_lesion_features` does for training;
    ``grid.scale`` maps the image's coordinates onto it.

    Attributes
    ----------
    roi : ROI
        In the pixel coordinates of the image as opened.
    grid : Mammogram
        The normalised image; ``grid_roi`` is ``roi`` on it.
    calcifications, mass
        :class:`~mammocad.segment.CalcificationSegmentation` and
        :class:`~mammocad.segment.MassSegmentation` on ``grid``.
    features : dict
        The 41 features, registry order.
    probability : float or None
        Malignancy probability, or None (``probability_note`` says why).
    """

    roi: ROI
    grid: Mammogram
    grid_roi: ROI
    calcifications: Any
    mass: Any
    features: dict[str, float]
    probability: float | None
    probability_note: str


def analyse(
    mammogram: Mammogram,
    roi: ROI,
    *,
    pixel_spacing_mm: float | None = None,
    model: ModelInfo | None = None,
) -> Analysis:
    """Segment the ROI, compute the 41 features and, with a model, the probability.

    Parameters
    ----------
    mammogram : Mammogram
    roi : ROI
        In the image's pixel coordinates.
    pixel_spacing_mm : float, optional
        Overrides the image's own spacing (needed where the image has none).
    model : ModelInfo, optional
        Classifier giving the malignancy probability.

    Returns
    -------
    Analysis

    Raises
    ------
    ROIError
        If the ROI misses the image.
    MammocadError
        If the spacing is unknown, or a stage refuses its input.
    """
    spacing = _spacing(mammogram, pixel_spacing_mm)
    roi.bbox(mammogram.shape)  # raises ROIError naming the ROI if it misses the image
    segment_calcifications = _stage("segment", "segment_calcifications")
    segment_mass = _stage("segment", "segment_mass")
    extract_lesion_features = _stage("features", "extract_lesion_features")
    grid = _paper_grid(mammogram, spacing)
    grid_roi = roi.scaled(grid.scale)
    grid_spacing = _grid_spacing(grid)
    calcifications = segment_calcifications(grid.pixels, grid_roi, pixel_spacing_mm=grid_spacing)
    mass = segment_mass(grid.pixels, grid_roi, pixel_spacing_mm=grid_spacing)
    # The model was trained on extract_lesion_features' values: use exactly that path.
    values = extract_lesion_features(grid, grid_roi, normalise=False)
    features = {str(k): float(v) for k, v in values.items()}
    probability, note = _predict(model, features)
    return Analysis(roi, grid, grid_roi, calcifications, mass, features, probability, note)


def _predict(model: ModelInfo | None, features: dict[str, float]) -> tuple[float | None, str]:
    if model is None:
        return (
            None,
            "No model loaded: start the viewer with --model MODEL_DIR to see a malignancy probability.",
        )
    trained = model.estimator
    row = trained.feature_matrix(features)  # ModelError naming missing or non-finite features
    estimator = trained.estimator
    proba = np.asarray(estimator.predict_proba(row), dtype=np.float64)
    classes = [
        int(c) if isinstance(c, (int, np.integer)) else c for c in getattr(estimator, "classes_", [0, 1])
    ]
    column = classes.index(1) if 1 in classes else proba.shape[1] - 1
    value = float(proba[0, column])
    if not math.isfinite(value):
        raise ModelError(f"model {model.name!r} returned a non-finite probability")
    return value, f"Probability of malignancy from model {model.name!r}."


def _finite_or_none(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _png(rgb_or_grey: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb_or_grey)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def display_png(mammogram: Mammogram) -> bytes:
    """8-bit greyscale PNG of the whole image for the browser (linear 0-255)."""
    return _png(to_uint8(mammogram.pixels))


def overlay_png(analysis: Analysis) -> bytes:
    """PNG of :func:`mammocad.segment.render_overlay` for an analysis, on the 1024-pixel grid."""
    render_overlay = _stage("segment", "render_overlay")
    rgb = render_overlay(
        analysis.grid.pixels, analysis.grid_roi, calcifications=analysis.calcifications, mass=analysis.mass
    )
    return _png(np.asarray(rgb, dtype=np.uint8))


def _calcification_layer(analysis: Analysis) -> dict[str, Any] | None:
    """Transparent PNG (data URL) of the segmented calcifications around the ROI.

    ``x0, y0, width, height`` place it in the coordinates of the image as
    opened, pixel edges (a pixel ``j`` spans ``j - 0.5`` to ``j + 0.5``).
    """
    labels = getattr(analysis.calcifications, "labels", None)
    if labels is None:
        return None
    from mammocad.segment.overlay import CALCIFICATION_COLOUR  # same colour as the exported PNG

    rows, cols = analysis.grid_roi.bbox(analysis.grid.shape, margin=2)
    crop = np.asarray(labels)[rows, cols] > 0
    rgba = np.zeros(crop.shape + (4,), dtype=np.uint8)
    rgba[crop] = (*CALCIFICATION_COLOUR, 255)
    scale = analysis.grid.scale
    return {
        "x0": (cols.start - 0.5) / scale,
        "y0": (rows.start - 0.5) / scale,
        "width": crop.shape[1] / scale,
        "height": crop.shape[0] / scale,
        "png": "data:image/png;base64," + base64.b64encode(_png(rgba)).decode("ascii"),
    }


def analysis_to_dict(analysis: Analysis, *, model: ModelInfo | None) -> dict[str, Any]:
    """JSON-ready result: ROI, segmentation summary and layers, features, probability.

    Coordinates are those of the image as opened. Undefined (non-finite) feature
    values are given as ``null``.
    """
    calc = analysis.calcifications
    mass = analysis.mass
    scale = analysis.grid.scale
    spacing = _grid_spacing(analysis.grid)
    contour = np.asarray(getattr(mass, "contour", np.empty((0, 2))), dtype=np.float64).reshape(-1, 2) / scale
    mass_mask = getattr(mass, "mask", None)
    mass_area_px = int(np.count_nonzero(mass_mask)) if mass_mask is not None else 0
    return {
        "roi": {"x": analysis.roi.x, "y": analysis.roi.y, "radius": analysis.roi.radius},
        "pixel_spacing_mm": spacing * scale,
        "analysis_grid": {
            "size": int(analysis.grid.shape[0]),
            "scale": scale,
            "pixel_spacing_mm": spacing,
        },
        "calcifications": {
            "count": int(getattr(calc, "count", 0)),
            "layer": _calcification_layer(analysis),
        },
        "mass": {
            "area_mm2": mass_area_px * spacing**2,
            # (row, col) on the grid from the library; the page draws (x, y) on the image.
            "contour_xy": [[round(float(c), 2), round(float(r), 2)] for r, c in contour],
        },
        "features": {name: _finite_or_none(value) for name, value in analysis.features.items()},
        "probability": analysis.probability,
        "probability_note": analysis.probability_note,
        "model": None if model is None else model.to_dict(),
    }
