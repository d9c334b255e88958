"""One lesion, segmented once: the :class:`LesionSegmentation` every later stage reads.

:func:`segment_lesion` runs :func:`~mammocad.segment.segment_calcifications` and
:func:`~mammocad.segment.segment_mass` on one ROI of an image and keeps what they
found in a window around the ROI: the grey values, the calcification labels (with
their properties and clusters) and the mass mask and contour. The features, the
viewer and the report all read this one value, so they see the same pixels.

The window is the ROI's box grown by a band of context (:data:`CONTEXT_RADII` ROI
radii plus :data:`CONTEXT_PX` pixels, clipped to the image), and grown further to
hold, with the same band, any segmented pixel outside it. The segmenters search
within 1.5 radii of the ROI's centre, so every segmented pixel has at least one
radius plus 8 pixels of context: wide enough for every measurement made around a
lesion (the ring around a mass, the background around calcifications), so that a
measurement on the window equals the same measurement on the whole image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mammocad.io import ROI
from mammocad.segment.calcifications import CalcificationSegmentation, Cluster, segment_calcifications
from mammocad.segment.mass import MassSegmentation, segment_mass

__all__ = ["LesionSegmentation", "segment_lesion", "CONTEXT_RADII", "CONTEXT_PX"]

#: Context kept around the ROI and the segmented pixels, in ROI radii ...
CONTEXT_RADII = 1.5
#: ... plus this many pixels.
CONTEXT_PX = 8


@dataclass(frozen=True, eq=False)
class LesionSegmentation:
    """Calcifications and mass of one lesion, in a window of the analysed image.

    Arrays are read-only; coordinates named "grid" are those of the whole
    analysed image (the one given to :func:`segment_lesion`), "window" ones are
    relative to :attr:`window`.

    Attributes
    ----------
    window : tuple of int
        ``(row0, col0, row1, col1)`` of the window on the grid (ends exclusive).
    grid_shape : tuple of int
        ``(rows, cols)`` of the whole analysed image.
    image : ndarray, window-shaped
        Grey values of the analysed image in the window.
    roi : ROI
        The ROI, in grid coordinates.
    pixel_spacing_mm : float
        Pixel edge of the analysed image, in mm.
    labels : ndarray of int32, window-shaped
        0 = background; one label ``1..n`` per calcification.
    properties : DataFrame
        One row per calcification (:data:`~mammocad.segment.PROPERTY_COLUMNS`;
        ``x``, ``y`` in grid coordinates).
    clusters : tuple of Cluster
        Clusters of calcifications (grid coordinates).
    mass_mask : ndarray of bool, window-shaped
        The mass; all False when none was found.
    mass_contour : ndarray, shape (k, 2)
        Closed outline of the mass as ``(row, col)`` grid coordinates; ``(0, 2)``
        when none was found.
    """

    window: tuple[int, int, int, int]
    grid_shape: tuple[int, int]
    image: np.ndarray
    roi: ROI
    pixel_spacing_mm: float
    labels: np.ndarray
    properties: pd.DataFrame
    clusters: tuple[Cluster, ...]
    mass_mask: np.ndarray
    mass_contour: np.ndarray

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices of the window on the grid."""
        r0, c0, r1, c1 = self.window
        return slice(r0, r1), slice(c0, c1)

    @property
    def window_roi(self) -> ROI:
        """The ROI in window coordinates."""
        r0, c0 = self.window[0], self.window[1]
        return ROI(self.roi.x - c0, self.roi.y - r0, self.roi.radius)

    @property
    def calcification_count(self) -> int:
        """Number of calcifications found."""
        return len(self.properties)

    @property
    def mass_found(self) -> bool:
        """Whether a mass was delineated."""
        return bool(self.mass_mask.any())

    @property
    def mass_area_mm2(self) -> float:
        """Mass area in mm²."""
        return int(np.count_nonzero(self.mass_mask)) * self.pixel_spacing_mm**2

    def calcifications(self) -> CalcificationSegmentation:
        """The calcifications as a whole-grid :class:`~mammocad.segment.CalcificationSegmentation`."""
        labels = np.zeros(self.grid_shape, dtype=np.int32)
        labels[self.slices] = self.labels
        return CalcificationSegmentation(
            labels=labels,
            roi=self.roi,
            properties=self.properties,
            clusters=self.clusters,
            pixel_spacing_mm=self.pixel_spacing_mm,
        )

    def mass(self) -> MassSegmentation:
        """The mass as a whole-grid :class:`~mammocad.segment.MassSegmentation`."""
        mask = np.zeros(self.grid_shape, dtype=bool)
        mask[self.slices] = self.mass_mask
        return MassSegmentation(
            mask=mask, contour=self.mass_contour, roi=self.roi, pixel_spacing_mm=self.pixel_spacing_mm
        )


def segment_lesion(image: np.ndarray, roi: ROI, *, pixel_spacing_mm: float) -> LesionSegmentation:
    """Segment the calcifications and the mass of one ROI, once.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey image, bright = dense (e.g. the 8-bit image of
        :func:`mammocad.io.normalise`). Not modified.
    roi : ROI
        The lesion's region, in the image's pixels.
    pixel_spacing_mm : float
        Pixel edge of ``image`` in mm.

    Returns
    -------
    LesionSegmentation

    Raises
    ------
    ROIError
        If the ROI lies wholly outside the image.
    SegmentationError
        If the image is not a finite 2-D array or the spacing is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from mammocad.io import ROI
    >>> yy, xx = np.mgrid[:200, :200]
    >>> image = 60.0 + 100.0 * ((yy - 100) ** 2 + (xx - 90) ** 2 < 20**2)
    >>> seg = segment_lesion(image, ROI(90, 100, 35), pixel_spacing_mm=0.2)
    >>> seg.mass_found, seg.calcification_count, seg.image.shape == seg.labels.shape
    (True, 0, True)
    """
    calcs = segment_calcifications(image, roi, pixel_spacing_mm=pixel_spacing_mm)
    mass = segment_mass(image, roi, pixel_spacing_mm=pixel_spacing_mm)
    pixels = np.asarray(image)
    shape = (int(pixels.shape[0]), int(pixels.shape[1]))
    calc_pixels = int(calcs.properties["area_px"].sum())  # no scan of the whole label image
    rows, cols = _window(
        shape, roi, ((calcs.labels, calc_pixels), (mass.mask, int(np.count_nonzero(mass.mask))))
    )
    return LesionSegmentation(
        window=(rows.start, cols.start, rows.stop, cols.stop),
        grid_shape=shape,
        image=_frozen(pixels[rows, cols]),
        roi=roi,
        pixel_spacing_mm=float(calcs.pixel_spacing_mm),
        labels=_frozen(calcs.labels[rows, cols]),
        properties=calcs.properties,
        clusters=calcs.clusters,
        mass_mask=_frozen(mass.mask[rows, cols]),
        mass_contour=_frozen(mass.contour),
    )


def _window(
    shape: tuple[int, int], roi: ROI, found: tuple[tuple[np.ndarray, int], ...]
) -> tuple[slice, slice]:
    """The ROI's box grown by the context band, grown further around any segmented pixel outside it.

    ``found`` holds (image, number of its non-zero pixels) pairs.
    """
    context = CONTEXT_RADII * roi.radius + CONTEXT_PX
    rows, cols = roi.bbox(shape, margin=context)
    r0, r1, c0, c1 = rows.start, rows.stop, cols.start, cols.stop
    grow = int(math.ceil(context))
    for image, total in found:
        if total == 0 or np.count_nonzero(image[rows, cols]) == total:
            continue  # the usual case: the segmenters search within the ROI's reach
        rr = np.flatnonzero(image.any(axis=1))
        cc = np.flatnonzero(image.any(axis=0))
        r0, r1 = min(r0, int(rr[0]) - grow), max(r1, int(rr[-1]) + 1 + grow)
        c0, c1 = min(c0, int(cc[0]) - grow), max(c1, int(cc[-1]) + 1 + grow)
    return slice(max(r0, 0), min(r1, shape[0])), slice(max(c0, 0), min(c1, shape[1]))


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out
