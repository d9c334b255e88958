"""Analyse one lesion: normalise, segment once, measure, and (with a model) predict.

What ``mammocad predict`` and the viewer do for an ROI, and what measuring a
lesion table does for every lesion: the image is brought to the paper's
1024-pixel, 8-bit grid (:func:`analysis_grid`), the ROI is segmented once
(:func:`mammocad.segment.segment_lesion`) and the 41 features are measured on
that segmentation (:func:`mammocad.features.lesion_features`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mammocad.errors import FeatureError, ModelError, PixelSpacingError
from mammocad.features.lesion import lesion_features
from mammocad.io import ROI, Mammogram, normalise, read_dicom_header
from mammocad.pipeline.dicom import output_folder, write_prediction
from mammocad.pipeline.spacing import SPACING_HINT, read_image
from mammocad.segment import Candidate, detect_candidates, render_overlay
from mammocad.segment.lesion import LesionSegmentation, segment_lesion
from mammocad.segment.overlay import CALCIFICATION_COLOUR

if TYPE_CHECKING:
    from mammocad.models import TrainedModel

__all__ = [
    "GRID_SIZE",
    "LesionAnalysis",
    "analysis_grid",
    "analyse_lesion",
    "measure_on_grid",
    "predict_lesion",
    "predict",
    "find_candidates",
    "lesion_overlay",
    "calcification_layer",
    "load_model",
    "model_scenario",
]

#: Side of the analysis grid (the paper's 1024-pixel, 8-bit images).
GRID_SIZE = 1024


def _spacing(mammogram: Mammogram, fill_in: float | None) -> float:
    if fill_in is not None and not (
        isinstance(fill_in, (int, float)) and math.isfinite(fill_in) and fill_in > 0
    ):
        raise PixelSpacingError(
            f"pixel_spacing_mm (--pixel-spacing) must be a positive number of millimetres, got {fill_in}"
        )
    spacing = mammogram.pixel_spacing_mm if mammogram.pixel_spacing_mm is not None else fill_in
    if spacing is None:
        raise PixelSpacingError(
            f"{mammogram.source or 'mammogram'}: pixel spacing unknown; physical features need it "
            f"({SPACING_HINT})"
        )
    if not (isinstance(spacing, (int, float)) and math.isfinite(spacing) and spacing > 0):
        raise PixelSpacingError(f"pixel_spacing_mm must be a positive number of millimetres, got {spacing}")
    return float(spacing)


def analysis_grid(mammogram: Mammogram, *, pixel_spacing_mm: float | None = None) -> Mammogram:
    """The image on the grid where lesions are segmented and measured.

    Parameters
    ----------
    mammogram : Mammogram
        The image as read.
    pixel_spacing_mm : float, optional
        The spacing to use where the image has none (recorded as given by the
        user, ``pixel_spacing_source="option"``); the image's own spacing wins, as
        everywhere in mammocad (:mod:`mammocad.pipeline.spacing`).

    Returns
    -------
    Mammogram
        :func:`mammocad.io.normalise` of the image (``GRID_SIZE`` square, 8-bit);
        a point of ``mammogram`` maps onto it by ``grid.scale / mammogram.scale``.

    Raises
    ------
    FeatureError
        If the pixel spacing is unknown or not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> from mammocad.io import Mammogram
    >>> grid = analysis_grid(Mammogram(np.zeros((512, 256), np.uint16)), pixel_spacing_mm=0.1)
    >>> grid.shape, grid.scale, grid.pixel_spacing_mm
    ((1024, 1024), 2.0, 0.05)
    """
    spacing = _spacing(mammogram, pixel_spacing_mm)
    if mammogram.pixel_spacing_mm is None:
        mammogram = mammogram.replace(pixel_spacing_mm=spacing, pixel_spacing_source="option")
    return normalise(mammogram, size=GRID_SIZE)


def measure_on_grid(
    grid: Mammogram, roi: ROI, *, feature_set: str = "paper"
) -> tuple[LesionSegmentation, dict[str, float]]:
    """Segment one ROI of the analysis grid once and measure its features.

    The one place where a lesion is segmented and measured: :func:`analyse_lesion`
    and :func:`~mammocad.pipeline.measure_lesion_table` both call it.

    Parameters
    ----------
    grid : Mammogram
        From :func:`analysis_grid` (its pixel spacing is known).
    roi : ROI
        In ``grid``'s pixels.
    feature_set : {"paper", "extended"}
        The paper's 41 features, or those and the extended ones.

    Returns
    -------
    segmentation : LesionSegmentation
    features : dict
        The set's features, registry order.
    """
    spacing = _spacing(grid, None)
    segmentation = segment_lesion(grid.pixels, roi, pixel_spacing_mm=spacing)
    try:
        values = lesion_features(segmentation, feature_set=feature_set)
    except FeatureError as exc:
        raise FeatureError(f"{grid.source or 'mammogram'}: {exc}") from None
    return segmentation, values


@dataclass(frozen=True, eq=False)
class LesionAnalysis:
    """One analysed lesion: where, its segmentation, its features and probability.

    Attributes
    ----------
    roi : ROI
        In the pixel coordinates of the image as given.
    scale : float
        Grid pixels per pixel of the image as given (``grid_roi = roi.scaled(scale)``).
    grid : Mammogram
        The analysis grid (:func:`analysis_grid`).
    grid_roi : ROI
        ``roi`` on the grid.
    segmentation : LesionSegmentation
        Calcifications and mass, on the grid.
    features : dict
        The paper's 41 features (and the extended ones where the model uses them),
        registry order.
    probability : float or None
        Probability of malignancy, when a model was given.
    model_name : str or None
        The model that gave it.
    """

    roi: ROI
    scale: float
    grid: Mammogram
    grid_roi: ROI
    segmentation: LesionSegmentation
    features: dict[str, float]
    probability: float | None = None
    model_name: str | None = None


def analyse_lesion(
    mammogram: Mammogram,
    roi: ROI,
    *,
    pixel_spacing_mm: float | None = None,
    model: TrainedModel | None = None,
) -> LesionAnalysis:
    """Segment one lesion, measure its features and, with a model, its probability.

    The paper's 41 features; the extended set (:mod:`mammocad.features.registry`)
    when the model was trained on one of its features.

    What the viewer shows for an ROI and what ``mammocad predict`` prints; the
    values are those :func:`~mammocad.pipeline.measure_lesion_table` writes for
    the same image and ROI.

    Parameters
    ----------
    mammogram : Mammogram
        The image as read (:func:`mammocad.io.read_mammogram`).
    roi : ROI
        The lesion's region, in ``mammogram``'s pixels.
    pixel_spacing_mm : float, optional
        The pixel spacing where the image has none (see :func:`analysis_grid`).
    model : TrainedModel, optional
        From :func:`load_model`; gives the probability of malignancy.

    Returns
    -------
    LesionAnalysis

    Raises
    ------
    ROIError
        If the ROI misses the image.
    FeatureError
        If the pixel spacing is unknown.
    ModelError
        If the model lacks a feature or returns a non-finite probability.

    Examples
    --------
    >>> from mammocad.io import ROI
    >>> from mammocad.synth import make_case
    >>> case = make_case(0, abnormality="mass", size=512, pixel_spacing_mm=0.2)
    >>> lesion = case.lesions[0]
    >>> result = analyse_lesion(case.mammogram, lesion.roi)
    >>> result.segmentation.mass_found, len(result.features), result.probability is None
    (True, 41, True)
    """
    roi.bbox(mammogram.shape)  # ROIError naming the ROI if it misses the image
    grid = analysis_grid(mammogram, pixel_spacing_mm=pixel_spacing_mm)
    scale = grid.scale / mammogram.scale
    grid_roi = roi.scaled(scale)
    segmentation, values = measure_on_grid(grid, grid_roi, feature_set=_feature_set_of(model))
    probability = None if model is None else _probability(model, values)
    return LesionAnalysis(
        roi=roi,
        scale=scale,
        grid=grid,
        grid_roi=grid_roi,
        segmentation=segmentation,
        features=values,
        probability=probability,
        model_name=None if model is None else model.name,
    )


def _feature_set_of(model: TrainedModel | None) -> str:
    """The smallest feature set holding every feature the model uses (``"paper"`` without one)."""
    from mammocad.features.registry import FEATURE_SET_NAMES, feature_names

    needed = set(model.feature_names) if model is not None else set()
    for name in FEATURE_SET_NAMES:
        if needed <= set(feature_names(name)):
            return name
    return "paper"  # features no set knows: the model's check names them


def _probability(model: TrainedModel, features: dict[str, float]) -> float:
    value = float(model.predict_proba_malignant(features)[0])
    if not math.isfinite(value):
        raise ModelError(f"model {model.name!r} returned a non-finite probability")
    return value


def predict_lesion(
    model: TrainedModel, mammogram: Mammogram, roi: ROI, *, pixel_spacing_mm: float | None = None
) -> dict[str, Any]:
    """The malignancy probability of one lesion, as ``mammocad predict`` prints it.

    Parameters
    ----------
    model : TrainedModel
        From :func:`load_model`.
    mammogram : Mammogram
        The image (with its pixel spacing, or give ``pixel_spacing_mm``).
    roi : ROI
        The lesion's region, in ``mammogram``'s pixels.
    pixel_spacing_mm : float, optional
        Overrides the image's own spacing.

    Returns
    -------
    dict
        ``probability_malignant``, ``prediction`` (``"malignant"`` at 0.5 or
        more, else ``"benign"``), ``model``, ``scenario``, ``roi``,
        ``pixel_spacing_mm`` and ``pixel_spacing_source`` (of the image as
        given), and the model's ``features`` (name → value).

    Raises
    ------
    ModelError
        If the features lack one the model needs.
    MammocadError
        From segmentation or measurement (e.g. an ROI off the image).
    """
    analysis = analyse_lesion(mammogram, roi, pixel_spacing_mm=pixel_spacing_mm, model=model)
    return _prediction(model, analysis)


def model_scenario(model: TrainedModel) -> str | None:
    """The scenario a model was trained for (``calcification``, ``mass``, ``combined``), where recorded."""
    metadata = model.metadata.get("metadata", {})
    scenario = metadata.get("scenario") if isinstance(metadata, dict) else None
    return None if scenario is None else str(scenario)


def _prediction(model: TrainedModel, analysis: LesionAnalysis) -> dict[str, Any]:
    p = float(analysis.probability)  # type: ignore[arg-type]
    roi = analysis.roi
    grid = analysis.grid
    return {
        "probability_malignant": p,
        "prediction": "malignant" if p >= 0.5 else "benign",
        "model": model.name,
        "scenario": model_scenario(model),
        "roi": {"x": roi.x, "y": roi.y, "radius": roi.radius},
        "pixel_spacing_mm": float(grid.pixel_spacing_mm or 0.0) * float(analysis.scale),  # as given
        "pixel_spacing_source": grid.pixel_spacing_source,
        "features": {name: float(analysis.features[name]) for name in model.feature_names},
    }


def load_model(model_dir: str | os.PathLike[str]) -> TrainedModel:
    """Load a model directory written by :func:`~mammocad.pipeline.train`.

    :func:`mammocad.models.load_model`, imported only when a model is used (the
    model stage brings scikit-learn and PyTorch).

    Raises
    ------
    ModelError
        If the folder does not hold a model mammocad saved.
    """
    from mammocad.models import load_model as load

    return load(model_dir)


def predict(
    model_dir: str | os.PathLike[str],
    image: str | os.PathLike[str],
    roi: ROI | str,
    *,
    pixel_spacing_mm: float | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """``mammocad predict``: load a model, read an image, predict one lesion.

    Parameters
    ----------
    model_dir : path-like
        A model directory written by :func:`~mammocad.pipeline.train`.
    image : path-like
        Mammogram file (DICOM, PGM, PNG, TIFF, JPEG).
    roi : ROI or str
        The lesion's circle in the image's pixels (``"X,Y,R"`` accepted).
    pixel_spacing_mm : float, optional
        For files that do not carry it (``--pixel-spacing``).
    out_dir : path-like, optional
        Also write there ``result.json`` (the returned dict), ``seg.dcm`` (the
        lesion's DICOM Segmentation on the source grid) and ``sr.dcm`` (its TID
        1500 Structured Report: probability and the model's features); needs a
        DICOM image.

    Returns
    -------
    dict
        :func:`predict_lesion`'s result plus ``image`` (the path given).

    Raises
    ------
    PixelSpacingError
        Before the image is decoded, if neither the file nor ``pixel_spacing_mm``
        gives the spacing.
    ImageReadError
        With ``out_dir``, before any work, if ``image`` is not a DICOM file.
    ExportError
        With ``out_dir``, if it is a file, or nothing was segmented (then
        nothing is written).
    """
    header = None
    if out_dir is not None:  # a PNG, or a file where the folder should be, fails before any work
        header = read_dicom_header(image)
        output_folder(out_dir)
    region = roi if isinstance(roi, ROI) else ROI.parse(roi)
    trained = load_model(model_dir)
    mg = read_image(image, option_mm=pixel_spacing_mm)
    analysis = analyse_lesion(mg, region.check_size(mg.shape), model=trained)
    result = dict(_prediction(trained, analysis), image=str(image))
    if header is not None and out_dir is not None:
        write_prediction(header, analysis, result, out_dir)
    return result


def find_candidates(
    mammogram: Mammogram, *, pixel_spacing_mm: float | None = None, max_candidates: int = 10
) -> list[Candidate]:
    """Automatic lesion candidates, best first, in the pixel coordinates of ``mammogram``.

    They are found on the analysis grid (where lesions are measured) and mapped
    back; every one lies inside the breast region
    (:func:`~mammocad.segment.breast_region`: the breast less the pectoral muscle,
    markers, labels and film edges; the view and laterality of ``mammogram`` are
    passed on).

    Raises
    ------
    FeatureError
        If the pixel spacing is unknown.
    """
    grid = analysis_grid(mammogram, pixel_spacing_mm=pixel_spacing_mm)
    found = detect_candidates(
        grid.pixels,
        pixel_spacing_mm=float(grid.pixel_spacing_mm or 0),
        max_candidates=max_candidates,
        view=grid.view,
        laterality=grid.laterality,
    )
    back = mammogram.scale / grid.scale
    return [Candidate(c.kind, c.roi.scaled(back), c.score) for c in found]


def lesion_overlay(analysis: LesionAnalysis) -> np.ndarray:
    """RGB overlay of an analysis on its grid (:func:`mammocad.segment.render_overlay`)."""
    seg = analysis.segmentation
    return render_overlay(
        analysis.grid.pixels, analysis.grid_roi, calcifications=seg.calcifications(), mass=seg.mass()
    )


def calcification_layer(analysis: LesionAnalysis) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The segmented calcifications as a transparent image over the image as given.

    Returns
    -------
    rgba : ndarray of uint8, shape (rows, cols, 4)
        The segmentation window: calcification pixels opaque, in the overlay's
        calcification colour; the rest transparent.
    placement : tuple of float
        ``(x0, y0, width, height)`` of ``rgba`` in the coordinates of the image as
        given, pixel edges (pixel ``j`` spans ``j - 0.5`` to ``j + 0.5``).
    """
    seg = analysis.segmentation
    found = seg.labels > 0
    rgba = np.zeros(found.shape + (4,), dtype=np.uint8)
    rgba[found] = (*CALCIFICATION_COLOUR, 255)
    scale = analysis.scale
    r0, c0 = seg.window[0], seg.window[1]
    placement = ((c0 - 0.5) / scale, (r0 - 0.5) / scale, found.shape[1] / scale, found.shape[0] / scale)
    return rgba, placement
