"""The viewer's side of the pipeline: what the web layer shows of an analysis.

The work is done by :mod:`mammocad.pipeline` (:func:`~mammocad.pipeline.analyse_lesion`,
:func:`~mammocad.pipeline.find_candidates`, :func:`~mammocad.pipeline.load_model`);
this module turns its values into what the page needs: JSON-ready dicts, PNGs,
and the zip of the DICOM SEG and SR (:func:`dicom_zip`).
"""

from __future__ import annotations

import base64
import io
import math
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mammocad.datasets import finite_or_none
from mammocad.errors import ModelError
from mammocad.features.registry import FEATURES
from mammocad.io import ROI, Mammogram, to_uint8
from mammocad.pipeline import (
    LesionAnalysis,
    analyse_lesion,
    calcification_layer,
    dicom_bytes,
    lesion_dicom,
    lesion_overlay,
    load_model,
    model_scenario,
)
from mammocad.pipeline import find_candidates as pipeline_candidates

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "ModelInfo",
    "Analysis",
    "NO_MODEL_NOTE",
    "load_model_info",
    "feature_catalogue",
    "find_candidates",
    "analyse",
    "overlay_png",
    "dicom_zip",
    "display_png",
    "analysis_to_dict",
]


#: Why there is no probability when the viewer runs without a model.
NO_MODEL_NOTE = "No model loaded: start the viewer with --model MODEL_DIR to see a malignancy probability."

#: An analysis as the viewer keeps it (:class:`mammocad.pipeline.LesionAnalysis`).
Analysis = LesionAnalysis


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
    """
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
    return [
        {
            "name": spec.name,
            "group": spec.group,
            "unit": spec.unit,
            "definition": spec.definition,
            "formula": spec.formula,
        }
        for spec in FEATURES
    ]


def find_candidates(mammogram: Mammogram, *, pixel_spacing_mm: float | None = None) -> list[dict[str, Any]]:
    """Automatic lesion candidates, best first, as ``{kind, x, y, radius, score}``.

    Found by :func:`mammocad.pipeline.find_candidates` (on the grid where
    features are measured) and given in the pixel coordinates of ``mammogram``.
    """
    return [
        {
            "kind": str(c.kind),
            "x": float(c.roi.x),
            "y": float(c.roi.y),
            "radius": float(c.roi.radius),
            "score": finite_or_none(c.score),
        }
        for c in pipeline_candidates(mammogram, pixel_spacing_mm=pixel_spacing_mm)
    ]


def analyse(
    mammogram: Mammogram,
    roi: ROI,
    *,
    pixel_spacing_mm: float | None = None,
    model: ModelInfo | None = None,
) -> LesionAnalysis:
    """:func:`mammocad.pipeline.analyse_lesion` with the viewer's loaded model.

    Raises
    ------
    ROIError
        If the ROI misses the image.
    MammocadError
        If the spacing is unknown, or a stage refuses its input.
    """
    return analyse_lesion(
        mammogram, roi, pixel_spacing_mm=pixel_spacing_mm, model=None if model is None else model.estimator
    )


def _png(rgb_or_grey: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb_or_grey)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def display_png(mammogram: Mammogram) -> bytes:
    """8-bit greyscale PNG of the whole image for the browser (linear 0-255)."""
    return _png(to_uint8(mammogram.pixels))


def overlay_png(analysis: LesionAnalysis) -> bytes:
    """PNG of :func:`mammocad.pipeline.lesion_overlay` (on the 1024-pixel grid)."""
    return _png(np.asarray(lesion_overlay(analysis), dtype=np.uint8))


def dicom_zip(header: Dataset, analysis: LesionAnalysis, *, model: ModelInfo | None) -> bytes:
    """Zip of the DICOM objects of an analysis: ``seg.dcm`` and, with a model, ``sr.dcm``.

    :func:`mammocad.pipeline.lesion_dicom`: the SEG on the source image's grid and
    the TID 1500 report of the probability and the model's features (as
    ``mammocad predict --out`` writes them).

    Parameters
    ----------
    header : pydicom.Dataset
        The source image's header (the analysis was made on that image as read).
    analysis : LesionAnalysis
    model : ModelInfo or None
        The model that gave the analysis its probability.

    Raises
    ------
    ExportError
        If nothing was segmented.
    """
    features = None if model is None else model.feature_names
    scenario = None if model is None else model_scenario(model.estimator)
    objects = lesion_dicom(header, analysis, features=features, scenario=scenario)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, dataset in objects.items():
            archive.writestr(name, dicom_bytes(dataset))
    return buffer.getvalue()


def _calcification_layer(analysis: LesionAnalysis) -> dict[str, Any] | None:
    """Transparent PNG (data URL) of the segmented calcifications, placed on the image.

    ``x0, y0, width, height`` place it in the coordinates of the image as
    opened, pixel edges (a pixel ``j`` spans ``j - 0.5`` to ``j + 0.5``).
    """
    rgba, (x0, y0, width, height) = calcification_layer(analysis)
    return {
        "x0": x0,
        "y0": y0,
        "width": width,
        "height": height,
        "png": "data:image/png;base64," + base64.b64encode(_png(rgba)).decode("ascii"),
    }


def analysis_to_dict(analysis: LesionAnalysis, *, model: ModelInfo | None) -> dict[str, Any]:
    """JSON-ready result: ROI, segmentation summary and layers, features, probability.

    Coordinates are those of the image as opened. Undefined (non-finite) feature
    values are given as ``null``.
    """
    seg = analysis.segmentation
    scale = analysis.scale
    spacing = seg.pixel_spacing_mm
    contour = np.asarray(seg.mass_contour, dtype=np.float64).reshape(-1, 2) / scale
    note = NO_MODEL_NOTE if model is None else f"Probability of malignancy from model {model.name!r}."
    return {
        "roi": {"x": analysis.roi.x, "y": analysis.roi.y, "radius": analysis.roi.radius},
        "pixel_spacing_mm": spacing * scale,
        "pixel_spacing_source": analysis.grid.pixel_spacing_source,
        "analysis_grid": {
            "size": int(analysis.grid.shape[0]),
            "scale": scale,
            "pixel_spacing_mm": spacing,
        },
        "calcifications": {
            "count": seg.calcification_count,
            "layer": _calcification_layer(analysis),
        },
        "mass": {
            "area_mm2": seg.mass_area_mm2,
            # (row, col) on the grid from the library; the page draws (x, y) on the image.
            "contour_xy": [[round(float(c), 2), round(float(r), 2)] for r, c in contour],
        },
        "features": {name: finite_or_none(value) for name, value in analysis.features.items()},
        "probability": analysis.probability,
        "probability_note": note,
        "model": None if model is None else model.to_dict(),
    }
