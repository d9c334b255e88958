"""Segment a whole mammogram as ``mammocad segment`` does, and write the results.

:func:`segment_mammogram` segments a :class:`~mammocad.io.Mammogram` for a given
ROI, or at the best automatic candidates when no ROI is given (searched only in
the breast region: :func:`~mammocad.segment.breast_region`);
:func:`write_segmentation` writes ``overlay.png``, ``calcifications.png`` (16-bit
label image), ``mass.png`` (0/255), ``segmentation.json`` and, when automatic,
``candidates.csv`` atomically; :func:`segment_and_write` is the whole command (with
``dicom=True`` it also writes ``seg.dcm``, a DICOM Segmentation on the source image's grid).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammocad._fileio import atomic_path, atomic_write_csv, atomic_write_text
from mammocad.errors import ExportError, SegmentationError
from mammocad.io import ROI, Mammogram, normalise, read_dicom_header
from mammocad.pipeline.dicom import dicom_segmentation, output_folder, save_dicom
from mammocad.pipeline.spacing import read_image
from mammocad.segment import (
    CalcificationSegmentation,
    Candidate,
    MassSegmentation,
    breast_region,
    detect_candidates,
    render_overlay,
    segment_calcifications,
    segment_mass,
)

__all__ = [
    "SEGMENT_TYPES",
    "CANDIDATE_COLUMNS",
    "MammogramSegmentation",
    "segment_mammogram",
    "write_segmentation",
    "segment_and_write",
]

SEGMENT_TYPES = ("calcification", "mass", "both")
#: Columns of ``candidates.csv``: rank (1 = best), kind, score, the circle on the
#: segmented grid and in the original image's pixels.
CANDIDATE_COLUMNS = ("rank", "kind", "score", "x", "y", "radius", "source_x", "source_y", "source_radius")


@dataclass(frozen=True, eq=False)
class MammogramSegmentation:
    """Everything :func:`segment_mammogram` found on one image.

    Parameters
    ----------
    mammogram : Mammogram
        The image that was segmented (the grid all coordinates refer to).
    roi : ROI or None
        The ROI drawn in the overlay: the given one, else the best candidate's.
    kind : {"calcification", "mass", "both"}
    calcifications, mass : optional
        The segmentations run (None for a kind not asked for or with no candidate).
    candidates : tuple of Candidate or None
        The automatic candidates, when no ROI was given.
    breast : ndarray of bool or None
        The region the candidates were searched in (breast less pectoral muscle,
        markers and film edges), when automatic.
    """

    mammogram: Mammogram
    roi: ROI | None
    kind: str
    calcifications: CalcificationSegmentation | None
    mass: MassSegmentation | None
    candidates: tuple[Candidate, ...] | None
    breast: np.ndarray | None = None

    def overlay(self) -> np.ndarray:
        """RGB overlay (see :func:`mammocad.segment.render_overlay`); with the candidates when automatic."""
        return render_overlay(
            self.mammogram.pixels,
            self.roi,
            self.calcifications,
            self.mass,
            candidates=self.candidates,
            breast=self.breast,
        )

    def candidate_rows(self) -> list[dict[str, Any]]:
        """One row per candidate, best first (columns :data:`CANDIDATE_COLUMNS`)."""
        scale = self.mammogram.scale
        return [
            {
                "rank": rank,
                "kind": c.kind,
                "score": c.score,
                "x": c.roi.x,
                "y": c.roi.y,
                "radius": c.roi.radius,
                "source_x": c.roi.x / scale,
                "source_y": c.roi.y / scale,
                "source_radius": c.roi.radius / scale,
            }
            for rank, c in enumerate(self.candidates or (), start=1)
        ]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: counts, areas in px and mm², cluster boxes, ROI, candidates."""
        mg = self.mammogram
        out: dict[str, Any] = {
            "image": mg.source,
            "shape": list(mg.shape),
            "scale": mg.scale,
            "pixel_spacing_mm": mg.pixel_spacing_mm,
            "pixel_spacing_source": mg.pixel_spacing_source,
            "type": self.kind,
            "coordinates": "pixels of the segmented grid (origin top-left, x right, y down); "
            "divide by scale for the original image",
            "roi": _roi_dict(self.roi, mg.scale),
        }
        out["calcifications"] = None if self.calcifications is None else _calc_dict(self.calcifications)
        out["mass"] = None if self.mass is None else _mass_dict(self.mass)
        if self.candidates is not None:
            out["candidates"] = [
                {"kind": c.kind, "score": c.score, "roi": _roi_dict(c.roi, mg.scale)} for c in self.candidates
            ]
        return out


def segment_mammogram(
    mammogram: Mammogram,
    roi: ROI | None = None,
    *,
    kind: str = "both",
    max_candidates: int = 10,
) -> MammogramSegmentation:
    """Segment calcifications and/or a mass in an ROI, or at the best automatic candidates.

    Parameters
    ----------
    mammogram : Mammogram
        Image with a known ``pixel_spacing_mm``.
    roi : ROI, optional
        In ``mammogram``'s pixels. When None, :func:`detect_candidates` runs in
        the breast region (:func:`~mammocad.segment.breast_region`, the view and
        laterality of ``mammogram`` passed on: an unknown view is checked for a
        pectoral muscle) and the best candidate of each asked-for kind is
        segmented, within that region.
    kind : {"calcification", "mass", "both"}
    max_candidates : int
        Candidates kept in the result when automatic.

    Returns
    -------
    MammogramSegmentation

    Raises
    ------
    SegmentationError
        If the pixel spacing is unknown or ``kind`` is not one of :data:`SEGMENT_TYPES`.
    ROIError
        If the ROI lies wholly outside the image.
    """
    if kind not in SEGMENT_TYPES:
        raise SegmentationError(f"type must be one of {', '.join(SEGMENT_TYPES)}, got {kind!r}")
    spacing = mammogram.pixel_spacing_mm
    if spacing is None:
        raise SegmentationError(
            f"{mammogram.source or 'image'}: pixel spacing unknown; give it (e.g. --pixel-spacing 0.2 for mini-MIAS)"
        )
    pixels = mammogram.pixels
    want_calc = kind in ("calcification", "both")
    want_mass = kind in ("mass", "both")
    candidates: tuple[Candidate, ...] | None = None
    breast: np.ndarray | None = None
    calc_roi = mass_roi = roi
    if roi is None:
        breast = breast_region(pixels, view=mammogram.view, laterality=mammogram.laterality).tissue
        kinds = tuple(k for k, w in (("calcification", want_calc), ("mass", want_mass)) if w)
        candidates = tuple(
            detect_candidates(
                pixels, pixel_spacing_mm=spacing, breast=breast, max_candidates=max_candidates, kinds=kinds
            )
        )
        calc_roi = next((c.roi for c in candidates if c.kind == "calcification"), None)
        mass_roi = next((c.roi for c in candidates if c.kind == "mass"), None)
        roi = candidates[0].roi if candidates else None
    calcs = (
        segment_calcifications(pixels, calc_roi, pixel_spacing_mm=spacing, mask=breast)
        if want_calc and calc_roi is not None
        else None
    )
    mass = (
        segment_mass(pixels, mass_roi, pixel_spacing_mm=spacing)
        if want_mass and mass_roi is not None
        else None
    )
    return MammogramSegmentation(
        mammogram=mammogram,
        roi=roi,
        kind=kind,
        calcifications=calcs,
        mass=mass,
        candidates=candidates,
        breast=breast,
    )


def write_segmentation(result: MammogramSegmentation, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``overlay.png``, ``calcifications.png``, ``mass.png``, ``segmentation.json`` (and ``candidates.csv``).

    ``calcifications.png`` is a 16-bit label image (0 = background) and
    ``mass.png`` an 8-bit 0/255 mask, both on the segmented grid; a kind that was
    not segmented gives an all-zero mask. When the candidates were automatic,
    ``candidates.csv`` lists them best first (:data:`CANDIDATE_COLUMNS`; a header
    only when there were none). Every file is written atomically.

    Returns
    -------
    dict
        File role → path written.
    """
    from PIL import Image

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SegmentationError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    shape = result.mammogram.shape
    labels = (
        result.calcifications.labels if result.calcifications is not None else np.zeros(shape, dtype=np.int32)
    )
    if labels.max(initial=0) > 65535:
        raise SegmentationError(f"{labels.max()} calcifications do not fit a 16-bit label image")
    mask = result.mass.mask if result.mass is not None else np.zeros(shape, dtype=bool)
    paths = {
        "overlay": out / "overlay.png",
        "calcifications": out / "calcifications.png",
        "mass": out / "mass.png",
        "json": out / "segmentation.json",
    }
    images = {
        "overlay": Image.fromarray(result.overlay(), mode="RGB"),
        "calcifications": Image.fromarray(labels.astype(np.uint16)),
        "mass": Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)),
    }
    for role, image in images.items():
        with atomic_path(paths[role]) as tmp:
            image.save(tmp, format="PNG")
    atomic_write_text(paths["json"], json.dumps(result.summary(), indent=2) + "\n")
    if result.candidates is not None:
        import pandas as pd

        paths["candidates"] = out / "candidates.csv"
        table = pd.DataFrame(result.candidate_rows(), columns=list(CANDIDATE_COLUMNS))
        atomic_write_csv(paths["candidates"], table)
    return paths


def segment_and_write(
    image: str | os.PathLike[str] | Mammogram,
    out_dir: str | os.PathLike[str],
    *,
    roi: ROI | str | None = None,
    kind: str = "both",
    pixel_spacing_mm: float | None = None,
    normalise_image: bool = True,
    view: str | None = None,
    dicom: bool = False,
) -> tuple[MammogramSegmentation, dict[str, Path]]:
    """``mammocad segment``: read an image, segment it, write the overlay, masks and summary.

    Parameters
    ----------
    image : path-like or Mammogram
        Mammogram file (DICOM, PGM, PNG, TIFF, JPEG) or an image already read.
    out_dir : path-like
        Folder for ``overlay.png``, ``calcifications.png``, ``mass.png``,
        ``segmentation.json`` and, without ``roi``, ``candidates.csv``
        (:func:`write_segmentation`).
    roi : ROI or str, optional
        The lesion's circle in the ORIGINAL image's pixels (``"X,Y,R"``
        accepted); None runs the automatic candidates.
    kind : {"calcification", "mass", "both"}
    pixel_spacing_mm : float, optional
        For files (or images) that do not carry it (``--pixel-spacing``); an
        unknown spacing is reported before the file is decoded.
    normalise_image : bool
        Segment on the 1024-pixel, 8-bit grid (:func:`mammocad.io.normalise`)
        rather than the image as read.
    view : str, optional
        ``"CC"`` or ``"MLO"`` for files that do not say (CC: no pectoral muscle
        is searched for; MLO: it is removed where found; not given: it is
        removed where the image clearly shows one).
    dicom : bool
        Also write ``seg.dcm``, a DICOM Segmentation on the source image's grid
        (:func:`~mammocad.pipeline.dicom_segmentation`); needs a DICOM file.

    Returns
    -------
    result : MammogramSegmentation
    paths : dict of str to Path
        File role → path written.

    Raises
    ------
    ImageReadError
        With ``dicom``, before any work, if ``image`` is not a DICOM file.
    ExportError
        With ``dicom``, if ``out_dir`` is a file or nothing was segmented (then
        nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mammocad.synth import make_case
    >>> case = make_case(0, abnormality="mass", size=512, pixel_spacing_mm=0.2)
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> result, paths = segment_and_write(case.mammogram, out, roi=case.lesions[0].roi, kind="mass")
    >>> result.mass.found, sorted(p.name for p in paths.values())
    (True, ['calcifications.png', 'mass.png', 'overlay.png', 'segmentation.json'])
    """
    header = None
    if dicom:
        if isinstance(image, Mammogram):
            raise ExportError("DICOM output needs the DICOM file, not an image already read")
        header = read_dicom_header(image)  # first: a PNG asked for DICOM fails before any work
        output_folder(out_dir)
    if isinstance(image, Mammogram):
        mg = image
        if mg.pixel_spacing_mm is None and pixel_spacing_mm is not None:
            mg = mg.replace(pixel_spacing_mm=pixel_spacing_mm, pixel_spacing_source="option")
        if view is not None:
            mg = mg.replace(view=view.upper())
    else:
        mg = read_image(image, option_mm=pixel_spacing_mm, view=None if view is None else view.upper())
    # Checked in the pixels the user gave: a radius past the image diagonal is a slip.
    given = None if roi is None else (roi if isinstance(roi, ROI) else ROI.parse(roi)).check_size(mg.shape)
    if normalise_image:
        mg = normalise(mg)
    region = None if given is None else given.scaled(mg.scale)
    result = segment_mammogram(mg, region, kind=kind)
    seg = None
    if header is not None:  # built before any file is written: nothing segmented, nothing written
        masks = {
            "calcification": None if result.calcifications is None else result.calcifications.labels,
            "mass": None if result.mass is None else result.mass.mask,
        }
        seg = dicom_segmentation(header, mg, masks)
    paths = write_segmentation(result, out_dir)
    if seg is not None:
        paths["seg"] = save_dicom(seg, Path(out_dir) / "seg.dcm")
    return result, paths


def _roi_dict(roi: ROI | None, scale: float) -> dict[str, Any] | None:
    if roi is None:
        return None
    return {
        "x": roi.x,
        "y": roi.y,
        "radius": roi.radius,
        "source": {"x": roi.x / scale, "y": roi.y / scale, "radius": roi.radius / scale},
    }


def _calc_dict(seg: CalcificationSegmentation) -> dict[str, Any]:
    props = seg.properties
    return {
        "count": seg.count,
        "area_px": int(props["area_px"].sum()),
        "area_mm2": float(props["area_mm2"].sum()),
        "clusters": [
            {
                "size": c.size,
                "labels": list(c.labels),
                "bbox": {"row0": c.bbox[0], "col0": c.bbox[1], "row1": c.bbox[2], "col1": c.bbox[3]},
                "centre": {"row": c.centre[0], "col": c.centre[1]},
                "area_mm2": c.area_mm2,
            }
            for c in seg.clusters
        ],
        "objects": json.loads(props.to_json(orient="records")),
    }


def _mass_dict(seg: MassSegmentation) -> dict[str, Any]:
    centre = seg.centre
    out: dict[str, Any] = {"found": seg.found, "area_px": seg.area_px, "area_mm2": seg.area_mm2}
    out["centre"] = None if centre is None else {"row": centre[0], "col": centre[1]}
    if seg.found:
        rr, cc = np.nonzero(seg.mask)
        out["bbox"] = {
            "row0": int(rr.min()),
            "col0": int(cc.min()),
            "row1": int(rr.max()) + 1,
            "col1": int(cc.max()) + 1,
        }
    return out
