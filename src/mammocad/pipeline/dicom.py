"""DICOM output of the journeys: a SEG of a segmentation; a SEG and an SR of a prediction.

The journeys read the source's header first (:func:`mammocad.io.read_dicom_header`),
so that a PNG, PGM or TIFF asked for DICOM output fails in one line, saying why,
before any work is done. :func:`dicom_segmentation` and :func:`lesion_dicom` hand
the masks of the analysis grid, the probability and the features to
:mod:`mammocad.export`; every object is built in memory before the first file is
written, and :func:`save_dicom` writes each one atomically. :func:`dicom_bytes`
gives a dataset's Part 10 bytes (the viewer's download).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom import Dataset

from mammocad._fileio import atomic_write_bytes, atomic_write_text
from mammocad.errors import ExportError
from mammocad.export import make_report, make_segmentation, patient_orientation
from mammocad.io import Mammogram
from mammocad.segment import breast_mask, chest_wall_side

if TYPE_CHECKING:
    from mammocad.pipeline.lesion import LesionAnalysis

__all__ = [
    "dicom_segmentation",
    "lesion_dicom",
    "dicom_bytes",
    "save_dicom",
    "write_prediction",
    "output_folder",
]


def output_folder(out_dir: str | os.PathLike[str]) -> Path:
    """``out_dir`` as a folder to write into: refused at once if it is a file.

    Raises
    ------
    ExportError
        If ``out_dir`` exists and is not a folder.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder")
    return out


def _orientation(header: Dataset, grid: Mammogram) -> list[str]:
    """The source's Patient Orientation, else one derived with the chest wall found in the pixels."""
    wall = chest_wall_side(breast_mask(grid.pixels, laterality=grid.laterality), grid.laterality)
    return patient_orientation(header, laterality=grid.laterality, view=grid.view, chest_wall=wall)


def dicom_segmentation(header: Dataset, grid: Mammogram, masks: Mapping[str, np.ndarray | None]) -> Dataset:
    """A DICOM SEG, on the source grid, of masks found on an analysis grid.

    Parameters
    ----------
    header : pydicom.Dataset
        The source image's header (:func:`mammocad.io.read_dicom_header`).
    grid : Mammogram
        The image the masks were found on (its ``scale`` maps the source onto it;
        its pixels give the chest-wall side where the source has no valid
        Patient Orientation).
    masks : mapping
        ``"calcification"`` / ``"mass"`` → mask on ``grid`` (None = not segmented;
        a calcification label image will do).

    Returns
    -------
    highdicom.seg.Segmentation

    Raises
    ------
    ExportError
        If nothing was segmented, or the SEG cannot reference the source.
    """
    given = {kind: mask for kind, mask in masks.items() if mask is not None}
    try:
        return make_segmentation(header, given, scale=grid.scale, orientation=_orientation(header, grid))
    except ExportError as exc:
        raise ExportError(f"{grid.source or 'image'}: {exc}") from None


def lesion_dicom(
    header: Dataset,
    analysis: LesionAnalysis,
    *,
    features: Iterable[str] | None = None,
    scenario: str | None = None,
) -> dict[str, Dataset]:
    """The DICOM objects of one analysed lesion: its SEG and, with a probability, its SR.

    Parameters
    ----------
    header : pydicom.Dataset
        The source image's header (:func:`mammocad.io.read_dicom_header`); the
        analysis must have been made on that image as read (its grid's scale
        maps the source onto the analysis grid).
    analysis : LesionAnalysis
        From :func:`~mammocad.pipeline.analyse_lesion` (with a model for the SR).
    features : iterable of str, optional
        The features the SR reports (default: all of ``analysis.features``);
        ``mammocad predict`` reports the model's.
    scenario : str, optional
        The model's scenario, recorded in the SR.

    Returns
    -------
    dict
        ``"seg.dcm"`` → the SEG; ``"sr.dcm"`` → the SR when ``analysis`` has a
        probability.

    Raises
    ------
    ExportError
        If nothing was segmented.
    """
    segmentation = analysis.segmentation
    masks = {"calcification": segmentation.calcifications().labels, "mass": segmentation.mass().mask}
    seg = dicom_segmentation(header, analysis.grid, masks)
    objects = {"seg.dcm": seg}
    if analysis.probability is not None:
        names = list(analysis.features) if features is None else list(features)
        objects["sr.dcm"] = make_report(
            header,
            seg,
            probability=analysis.probability,
            features={name: analysis.features[name] for name in names},
            model=analysis.model_name,
            scenario=scenario,
        )
    return objects


def dicom_bytes(dataset: Dataset) -> bytes:
    """A DICOM dataset as the bytes of its Part 10 file."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def save_dicom(dataset: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a DICOM dataset (Part 10 file) atomically; return its path."""
    target = Path(path)
    atomic_write_bytes(target, dicom_bytes(dataset))
    return target


def write_prediction(
    header: Dataset, analysis: LesionAnalysis, result: Mapping[str, Any], out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write ``result.json``, ``seg.dcm`` and ``sr.dcm`` of one prediction, each atomically.

    The SEG and the SR are built before anything is written: where they cannot
    be (nothing was segmented), no file is written.

    Parameters
    ----------
    header : pydicom.Dataset
        The source image's header.
    analysis : LesionAnalysis
        The analysed lesion, with its probability.
    result : mapping
        What ``mammocad predict`` prints (:func:`~mammocad.pipeline.predict`):
        the SR reports its ``features`` and ``scenario``.
    out_dir : path-like
        Created if missing.

    Returns
    -------
    dict
        ``"json"``, ``"seg"``, ``"sr"`` → path written.

    Raises
    ------
    ExportError
        If ``out_dir`` is a file, the analysis has no probability, or nothing
        was segmented.
    """
    out = output_folder(out_dir)
    if analysis.probability is None:
        raise ExportError("the analysis has no malignancy probability: a report needs a model")
    objects = lesion_dicom(header, analysis, features=result["features"], scenario=result.get("scenario"))
    paths = {"json": out / "result.json", "seg": out / "seg.dcm", "sr": out / "sr.dcm"}
    atomic_write_text(paths["json"], json.dumps(dict(result), indent=2) + "\n")
    save_dicom(objects["seg.dcm"], paths["seg"])
    save_dicom(objects["sr.dcm"], paths["sr"])
    return paths
