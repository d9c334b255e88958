"""DICOM Segmentation of a mammogram's findings, on the source image's own grid.

mammocad segments on the analysis grid that :func:`mammocad.io.normalise` makes
(the source resampled so its long side is 1024 pixels, padded at the bottom and
right). A SEG must lie on the grid of the image it references, so
:func:`resample_mask` maps each mask back: every source pixel takes the value of
the analysis pixel its centre falls in (nearest neighbour with the pixel-centre
geometry of the resampling, so an analysis pixel covers ``1/scale²`` source
pixels and areas are kept). :func:`make_segmentation` builds a binary SEG with
highdicom: one segment per finding type that was found (microcalcifications;
mass), labelled and coded, with mammocad and its version as the algorithm,
referencing the source image and copying its patient and study context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydicom import Dataset

from mammocad.errors import ExportError
from mammocad.export._context import (
    BREAST,
    FINDING_TYPES,
    FINDINGS,
    SEGMENT_CATEGORY,
    context_header,
    patient_orientation,
    quiet_copying,
)

__all__ = ["resample_mask", "make_segmentation", "SEG_SERIES_NUMBER"]

#: Series Number of the SEG when none is given.
SEG_SERIES_NUMBER = 9001


def resample_mask(mask: np.ndarray, source_shape: tuple[int, int], scale: float) -> np.ndarray:
    """Map a mask from the analysis grid back onto the source image's grid.

    The analysis grid is the source resampled by ``scale`` (to ``round(rows *
    scale)`` × ``round(cols * scale)`` pixels, as :func:`mammocad.io.normalise`
    does) and possibly padded at the bottom and right. Source pixel ``i`` of an
    axis takes analysis pixel ``floor((i + 0.5) · n / N)`` (``N`` source, ``n``
    analysis pixels on that axis): the pixel its centre falls in, in the
    pixel-centre geometry of the resampling.

    Parameters
    ----------
    mask : ndarray, shape (rows', cols')
        On the analysis grid; non-zero = inside.
    source_shape : (int, int)
        Rows and columns of the source image.
    scale : float
        Size of the source grid in units of the analysis grid
        (:attr:`mammocad.io.Mammogram.scale`).

    Returns
    -------
    ndarray of bool, shape ``source_shape``

    Raises
    ------
    ExportError
        If the mask is smaller than the source scaled by ``scale``.

    Examples
    --------
    >>> m = np.zeros((4, 4), bool); m[1, 2] = True
    >>> resample_mask(m, (8, 8), 0.5).nonzero()
    (array([2, 2, 3, 3]), array([4, 5, 4, 5]))
    """
    rows, cols = int(source_shape[0]), int(source_shape[1])
    if not (np.isfinite(scale) and scale > 0):
        raise ExportError(f"scale must be a positive number, got {scale!r}")
    h, w = max(1, round(rows * scale)), max(1, round(cols * scale))
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.shape[0] < h or mask.shape[1] < w:
        raise ExportError(
            f"mask of shape {mask.shape} does not cover a {cols}x{rows} source image at scale {scale:g} "
            f"({w}x{h} analysis pixels)"
        )
    # Integer arithmetic: (2i + 1)·n // 2N is floor((i + 0.5)·n / N) without round-off.
    r = ((2 * np.arange(rows, dtype=np.int64) + 1) * h) // (2 * rows)
    c = ((2 * np.arange(cols, dtype=np.int64) + 1) * w) // (2 * cols)
    return mask[np.ix_(r, c)] != 0


def make_segmentation(
    source: Dataset,
    masks: Mapping[str, np.ndarray],
    *,
    scale: float = 1.0,
    orientation: Sequence[str] | None = None,
    series_number: int = SEG_SERIES_NUMBER,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """Build a binary DICOM Segmentation of a mammogram's findings.

    Parameters
    ----------
    source : pydicom.Dataset
        The source image's header (:func:`mammocad.io.read_dicom_header`; pixel
        data is not needed).
    masks : mapping
        Finding type (``"calcification"``, ``"mass"``) → mask on the analysis
        grid (non-zero = the finding; a calcification label image will do).
        Each non-empty mask becomes one segment, in that order.
    scale : float
        Size of the source grid in units of the analysis grid
        (:attr:`mammocad.io.Mammogram.scale` of the segmented image; 1 when it
        was segmented as read).
    orientation : sequence of two str, optional
        Patient Orientation; default: the source's, else derived by
        :func:`mammocad.export.patient_orientation` from its laterality and
        view. The SEG needs one as its source is not in a patient frame of
        reference.
    series_number : int
    series_instance_uid, sop_instance_uid : str, optional
        New UIDs are made where not given.

    Returns
    -------
    highdicom.seg.Segmentation
        A pydicom Dataset; ``save_as`` writes it.

    Raises
    ------
    ExportError
        If a finding type is unknown, a mask does not fit the source grid, every
        mask is empty, or the source lacks identifiers or an orientation.

    Examples
    --------
    >>> header = read_dicom_header("mammogram.dcm")  # doctest: +SKIP
    >>> seg = make_segmentation(header, {"mass": mask}, scale=mg.scale)  # doctest: +SKIP
    >>> seg.save_as("seg.dcm")  # doctest: +SKIP
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    from mammocad import __version__

    unknown = sorted(set(masks) - set(FINDING_TYPES))
    if unknown:
        raise ExportError(
            f"unknown finding type(s) {', '.join(unknown)}; expected {', '.join(FINDING_TYPES)}"
        )
    header = context_header(source)
    grid = (int(header.Rows), int(header.Columns))
    kept: list[tuple[str, np.ndarray]] = []
    for kind in FINDING_TYPES:
        if kind in masks:
            on_source = resample_mask(masks[kind], grid, scale)
            if on_source.any():
                kept.append((kind, on_source))
    if not kept:
        raise ExportError(
            "nothing was segmented (every mask is empty): a DICOM SEG needs at least one segment"
        )
    if orientation is None:
        orientation = patient_orientation(source)
    header.PatientOrientation = list(orientation)
    algorithm = hd.AlgorithmIdentificationSequence(
        name="mammocad",
        version=__version__,
        family=codes.cid7162.MorphologicalOperations,
        source="mammocad",
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=FINDINGS[kind].label,
            segmented_property_category=SEGMENT_CATEGORY,
            segmented_property_type=FINDINGS[kind].code,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=generate_uid(),
            tracking_id=f"{FINDINGS[kind].label} 1",
            anatomic_regions=[BREAST],
            display_color=hd.color.CIELabColor.from_rgb(*FINDINGS[kind].rgb),
        )
        for number, (kind, _) in enumerate(kept, start=1)
    ]
    pixels = np.stack([m for _, m in kept], axis=-1)[None]
    with quiet_copying():
        seg = hd.seg.Segmentation(
            source_images=[header],
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=series_instance_uid or generate_uid(),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or generate_uid(),
            instance_number=1,
            manufacturer="mammocad",
            manufacturer_model_name="mammocad",
            software_versions=__version__,
            device_serial_number="1",
            content_label="MAMMOCAD",
            content_description="mammocad lesion segmentation",
            series_description="mammocad segmentation",
            omit_empty_frames=False,
        )
    # Without a frame of reference the General Image module needs Patient Orientation (type 2C).
    seg.PatientOrientation = list(orientation)
    _drop_partial_pixel_measures(seg)
    return seg


def _drop_partial_pixel_measures(seg: Dataset) -> None:
    """Leave out the Pixel Measures that highdicom copies from a source's Pixel Spacing alone.

    Without a frame of reference the standard needs no Slice Thickness there (nor
    the Pixel Measures at all; dciodvfy agrees), but highdicom 0.28 cannot read a
    SEG back whose Pixel Measures lack it. The spacing stays the source image's,
    which the SEG references.
    """
    if "FrameOfReferenceUID" in seg:
        return
    for group in seg.get("SharedFunctionalGroupsSequence", []):
        measures = group.get("PixelMeasuresSequence")
        if measures and "SliceThickness" not in measures[0]:
            del group.PixelMeasuresSequence
