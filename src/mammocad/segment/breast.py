"""The breast region: background, labels and film artefacts removed; pectoral muscle optional.

The breast is the largest bright object touching the chest-wall edge of the film.
It is found by thresholding a smoothed, downsampled copy of the image a little
above the background level (a fraction of the way from the background mode to
Otsu's threshold, so that the faint skin line and fatty tissue are kept), keeping
the largest connected component (labels, markers and scanner artefacts are
smaller, separate objects), filling holes and smoothing the outline.

On mediolateral-oblique (MLO) views the pectoral muscle is a bright, roughly
triangular region in the top corner on the chest-wall side. With
``remove_pectoral=True`` it is found as the bright region connected to that
corner (Otsu threshold among the upper breast's pixels), its boundary is fitted
with a straight line, and the triangle above the line is removed.
"""

from __future__ import annotations

import numpy as np

from mammocad.errors import SegmentationError
from mammocad.segment._common import as_float_image, block_mean

__all__ = ["breast_mask", "chest_wall_side"]

_WORK_SIZE = 256  # the mask is computed on a grid of about this size, then upsampled


def breast_mask(
    image: np.ndarray,
    *,
    remove_pectoral: bool = False,
    laterality: str | None = None,
) -> np.ndarray:
    """Boolean mask of the breast tissue.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram, bright = dense. Not modified.
    remove_pectoral : bool
        Also remove the pectoral muscle (for MLO views).
    laterality : {"L", "R"} or None
        Which breast; used only where the image itself does not show which edge
        the chest wall is on (see :func:`chest_wall_side`).

    Returns
    -------
    ndarray of bool, image-shaped
        True on the breast. All False for a blank (constant) image.

    Raises
    ------
    SegmentationError
        If the image is not a finite 2-D array or ``laterality`` is not L, R or None.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((200, 200)); img[20:180, :120] = 150.0
    >>> m = breast_mask(img)
    >>> bool(m[100, 50]), bool(m[100, 180])
    (True, False)
    """
    from scipy import ndimage as ndi
    from skimage import filters, morphology
    from skimage.transform import resize

    pixels = as_float_image(image)
    side = _check_laterality(laterality)
    lo, hi = float(pixels.min()), float(pixels.max())
    if hi <= lo:
        return np.zeros(pixels.shape, dtype=bool)
    step = max(1, int(round(max(pixels.shape) / _WORK_SIZE)))
    small = block_mean(pixels, step)
    small = filters.gaussian(small, sigma=1.0, preserve_range=True)
    hist, edges = np.histogram(small, bins=256, range=(lo, hi))
    background = edges[int(np.argmax(hist[:128]))]  # the dark film / air mode
    otsu = float(filters.threshold_otsu(small))
    threshold = background + 0.25 * max(otsu - background, 0.0) + 0.02 * (hi - lo)
    fg = small > threshold
    fg = ndi.binary_opening(fg, structure=morphology.disk(2))
    if not fg.any():
        return np.zeros(pixels.shape, dtype=bool)
    region = _largest_component(fg)
    # Pad so that closing does not erode the breast where it meets the film edge.
    region = ndi.binary_closing(np.pad(region, 3, mode="edge"), structure=morphology.disk(2))[3:-3, 3:-3]
    region = ndi.binary_fill_holes(region)

    if remove_pectoral:
        region &= ~_pectoral(small, region, chest_wall_side(region, side))
        region = _largest_component(region)

    full = resize(region.astype(np.float32), (small.shape[0] * step, small.shape[1] * step), order=1)
    return full[: pixels.shape[0], : pixels.shape[1]] >= 0.5


def chest_wall_side(mask: np.ndarray, laterality: str | None = None) -> str:
    """Image edge the chest wall is on: ``"left"`` or ``"right"``.

    The breast's wide base lies against the chest wall, so the side holding more
    of the breast mask wins. Only where the image cannot tell (the mask's centre
    within 5 % of the image's middle, or an empty mask) does ``laterality``
    decide, by the usual display convention: a right breast ("R") has its chest
    wall at the right image edge, a left breast at the left edge. The image wins
    because datasets differ in how they orient and label their films.
    """
    cols = mask.sum(axis=0).astype(float)
    width = mask.shape[1]
    if cols.sum() > 0:
        centre = float((cols * np.arange(width)).sum() / cols.sum())
        if abs(centre - (width - 1) / 2.0) > 0.05 * width:
            return "left" if centre < (width - 1) / 2.0 else "right"
    side = _check_laterality(laterality)
    return "right" if side == "R" else "left"


def _check_laterality(laterality: str | None) -> str | None:
    if laterality is None or laterality == "":
        return None
    value = str(laterality).strip().upper()
    if value not in ("L", "R"):
        raise SegmentationError(f"laterality must be 'L', 'R' or None, got {laterality!r}")
    return value


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest connected component of ``mask`` (``mask`` itself when it has at most one)."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _pectoral(small: np.ndarray, breast: np.ndarray, side: str) -> np.ndarray:
    """Triangle of the pectoral muscle (bool, ``small``'s grid), chest wall on ``side`` ("left"/"right")."""
    from scipy import ndimage as ndi
    from skimage import filters, morphology

    img = small if side == "left" else small[:, ::-1]
    region = breast if side == "left" else breast[:, ::-1]
    rows, cols = img.shape
    out = np.zeros_like(region)
    top = np.nonzero(region.any(axis=1))[0]
    if top.size == 0:
        return out
    r_top = int(top[0])
    # Films are often padded: the chest wall is the breast's first column, not column 0.
    wall = int(np.nonzero(region.any(axis=0))[0][0])
    # Search the upper part of the breast, chest-wall half.
    search = np.zeros_like(region)
    r_end = min(rows, r_top + int(0.6 * rows))
    search[r_top:r_end, wall : wall + cols // 2] = True
    search &= region
    values = img[search]
    if values.size < 50 or np.ptp(values) <= 0:
        return out
    bright = (img > filters.threshold_otsu(values)) & search
    bright = ndi.binary_opening(bright, structure=morphology.disk(2))
    lab, n = ndi.label(bright)
    if n == 0:
        return out
    # The muscle component touches the chest-wall edge near the top of the breast.
    corner = lab[r_top : r_top + max(3, rows // 16), wall : wall + 3]
    ids = np.unique(corner[corner > 0])
    if ids.size == 0:
        return out
    muscle = np.isin(lab, ids)
    # Fit the muscle's lower-right boundary x = a + b*y by least squares on its per-row extent.
    ys, widths = [], []
    for r in range(r_top, r_end):
        hits = np.nonzero(muscle[r])[0]
        if hits.size and hits[0] <= wall + 2:
            ys.append(r)
            widths.append(hits.max() + 1)  # first column past the muscle
    if len(ys) < 5:
        return out
    b, a = np.polyfit(np.asarray(ys, float), np.asarray(widths, float), 1)
    if b >= 0:  # the boundary must run down towards the chest wall
        return out
    yy, xx = np.mgrid[:rows, :cols]
    out = (xx < a + b * yy) & region
    return out if side == "left" else out[:, ::-1]
