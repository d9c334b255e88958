"""The breast region: film, labels, markers and hardware removed; the pectoral muscle found.

:func:`breast_region` separates, on a grey mammogram,

- the **film outside the image**: constant strips along the image's edges (the
  zero padding of :func:`mammocad.io.normalise`, a scanner's blank margin);
- **burnt-in markers**: plateaus at the image's maximum grey level (annotations,
  a biopsy cross-hair, saturated lead markers), wherever they lie;
- the **background**: air or unexposed film, darker than the breast and smooth;
  a fraction of the way from its histogram mode to Otsu's threshold separates it
  from the breast, so that the faint skin line and fatty tissue are kept;
- **film-edge strips and collimation**: bright bands hugging an image edge with
  background right behind them (the film border of digitised films, a collimator
  blade's edge);
- **labels and hardware** outside the breast: every bright object but the breast,
  which is the largest one after an opening that cuts thin bridges (a label, a
  biopsy device or a compression paddle's edge touching the skin);
- the **pectoral muscle** (MLO views): the bright region in the top corner on the
  chest-wall side, bounded by a roughly straight edge (see :func:`breast_region`).

An image with no dark, smooth background (a crop inside the breast) is breast
throughout; a constant image has no breast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mammocad.errors import SegmentationError
from mammocad.segment._common import as_float_image, block_mean

__all__ = ["BreastRegion", "breast_region", "breast_mask", "chest_wall_side", "PECTORAL_MODES"]

_WORK_SIZE = 256  # the region is computed on a grid of about this size, then upsampled
#: How :func:`breast_mask` treats the pectoral muscle (besides True / False).
PECTORAL_MODES = ("auto",)
# Pectoral acceptance, in robust grey-level spreads of the breast across the muscle's
# edge: lenient where the view is known to be MLO, strict where the view is unknown
# (a CC view's dense tissue near the chest wall must not be cut off).
_PECTORAL_STEP_MLO = 0.3
_PECTORAL_STEP_AUTO = 0.5
_BAND = 0.04
_SIGMA = 1.0


@dataclass(frozen=True, eq=False)
class BreastRegion:
    """What :func:`breast_region` found on a mammogram (image-shaped boolean masks).

    Parameters
    ----------
    breast : ndarray of bool
        Breast tissue, the pectoral muscle included, markers excluded.
    pectoral : ndarray of bool
        The pectoral muscle (all False where none was found or looked for).
    markers : ndarray of bool
        Burnt-in markers and saturated plateaus (never part of ``breast``).
    chest_wall : {"left", "right"}
        Image edge the chest wall is on.
    """

    breast: np.ndarray
    pectoral: np.ndarray
    markers: np.ndarray
    chest_wall: str

    @property
    def tissue(self) -> np.ndarray:
        """The breast less the pectoral muscle: where lesions are searched."""
        return self.breast & ~self.pectoral

    @property
    def pectoral_found(self) -> bool:
        """Whether a pectoral muscle was found."""
        return bool(self.pectoral.any())


def breast_region(
    image: np.ndarray,
    *,
    view: str | None = None,
    laterality: str | None = None,
) -> BreastRegion:
    """Find the breast, the pectoral muscle and the burnt-in markers of a mammogram.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram, bright = dense. Not modified.
    view : str or None
        ``"MLO"`` (or any oblique/lateral view: ``"ML"``, ``"LM"``, ``"XCCL"`` counts
        as CC) removes the pectoral muscle where one is found, with a lenient test;
        ``"CC"`` never looks for one; None (unknown) looks for one with a strict
        test, so that dense tissue near the chest wall of a CC view is kept.
    laterality : {"L", "R"} or None
        Which breast; used only where the image itself does not show which edge
        the chest wall is on (see :func:`chest_wall_side`).

    Returns
    -------
    BreastRegion

    Raises
    ------
    SegmentationError
        If the image is not a finite 2-D array or ``laterality`` is not L, R or None.

    Notes
    -----
    The pectoral muscle is searched for in the top corner on the chest-wall side:
    every straight line from the top of the breast to the chest-wall edge (a grid
    of 40 × 40 intercepts) is scored by the mean grey-level step across it (a band
    of about 4 % of the breast's width on each side, in robust spreads of the
    breast's grey levels); the best line is refined row by row to the strongest
    step within reach (a curved edge), smoothed by a quadratic fit, and accepted
    if its step reaches the view's threshold and the muscle is brighter than the
    breast around it and covers 1-60 % of the breast.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)  # a breast on air, with some texture
    >>> img = np.zeros((200, 200)); img[20:180, :120] = 150.0 + rng.normal(0, 3, (160, 120))
    >>> region = breast_region(img, view="CC")
    >>> bool(region.breast[100, 50]), bool(region.breast[100, 180]), region.chest_wall
    (True, False, 'left')
    """
    from skimage.transform import resize

    pixels = as_float_image(image)
    side = _check_laterality(laterality)
    mode = _pectoral_mode(view)
    empty = np.zeros(pixels.shape, dtype=bool)
    valid = _inside_film(pixels)
    if not valid.any():
        return BreastRegion(empty, empty, empty.copy(), chest_wall_side(empty, side))
    markers = _markers(pixels, valid)
    film = valid & ~markers
    if not film.any() or float(np.ptp(pixels[film])) <= 0:
        return BreastRegion(empty, empty, markers, chest_wall_side(empty, side))

    step = max(1, int(round(max(pixels.shape) / _WORK_SIZE)))
    work = np.where(markers, np.median(pixels[film]), pixels)
    small = block_mean(work, step)
    valid_s = block_mean(valid.astype(float), step) > 0.5
    region = _breast_small(small, valid_s)
    pectoral_s = np.zeros_like(region)
    cols = np.nonzero(valid_s.any(axis=0))[0]
    wall = chest_wall_side(region[:, cols[0] : cols[-1] + 1] if cols.size else region, side)
    if mode is not None and region.any():
        # With the view unknown, a muscle must also run off the film's top edge (a CC
        # view's breast does not reach it).
        first_row = None if mode == "MLO" else int(np.nonzero(valid_s.any(axis=1))[0][0])
        limit = _PECTORAL_STEP_MLO if mode == "MLO" else _PECTORAL_STEP_AUTO
        pectoral_s, _ = _pectoral(small, region, wall, limit, first_row)

    def up(mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return empty.copy()
        big = resize(mask.astype(np.float32), (mask.shape[0] * step, mask.shape[1] * step), order=1)
        return big[: pixels.shape[0], : pixels.shape[1]] >= 0.5

    breast = up(region) & valid & ~markers
    pectoral = up(pectoral_s) & breast
    return BreastRegion(breast=breast, pectoral=pectoral, markers=markers, chest_wall=wall)


def breast_mask(
    image: np.ndarray,
    *,
    remove_pectoral: bool | str = False,
    laterality: str | None = None,
) -> np.ndarray:
    """Boolean mask of the breast tissue.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram, bright = dense. Not modified.
    remove_pectoral : bool or "auto"
        True: also remove the pectoral muscle (MLO views); ``"auto"``: remove it
        where the image shows one clearly (view unknown); False: keep it.
    laterality : {"L", "R"} or None
        Which breast; used only where the image itself does not show which edge
        the chest wall is on (see :func:`chest_wall_side`).

    Returns
    -------
    ndarray of bool, image-shaped
        True on the breast. All False for a blank (constant) image; all True
        (less markers) for an image that is breast throughout.

    Raises
    ------
    SegmentationError
        If the image is not a finite 2-D array, ``laterality`` is not L, R or None
        or ``remove_pectoral`` is not True, False or "auto".

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)  # a breast on air, with some texture
    >>> img = np.zeros((200, 200)); img[20:180, :120] = 150.0 + rng.normal(0, 3, (160, 120))
    >>> m = breast_mask(img)
    >>> bool(m[100, 50]), bool(m[100, 180])
    (True, False)
    """
    if remove_pectoral is True:
        view: str | None = "MLO"
    elif remove_pectoral is False:
        view = "CC"
    elif remove_pectoral in PECTORAL_MODES:
        view = None
    else:
        raise SegmentationError(f"remove_pectoral must be True, False or 'auto', got {remove_pectoral!r}")
    region = breast_region(image, view=view, laterality=laterality)
    return region.tissue


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


def _pectoral_mode(view: str | None) -> str | None:
    """ "MLO" (look, lenient), "auto" (look, strict) or None (do not look)."""
    if view is None or str(view).strip() == "":
        return "auto"
    value = str(view).strip().upper()
    if value in ("CC", "XCCL", "XCCM", "FB"):
        return None
    return "MLO"


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest connected component of ``mask`` (``mask`` itself when it has at most one)."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _inside_film(pixels: np.ndarray) -> np.ndarray:
    """False on constant rows/columns along the image's edges (padding, blank margins)."""
    valid = np.ones(pixels.shape, dtype=bool)
    row_flat = np.ptp(pixels, axis=1) == 0
    col_flat = np.ptp(pixels, axis=0) == 0
    for flat, axis in ((row_flat, 0), (col_flat, 1)):
        n = flat.size
        lo = 0
        while lo < n and flat[lo]:
            lo += 1
        hi = n
        while hi > lo and flat[hi - 1]:
            hi -= 1
        keep = np.zeros(n, dtype=bool)
        keep[lo:hi] = True
        valid &= keep[:, None] if axis == 0 else keep[None, :]
    return valid


def _markers(pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Plateaus at the image's maximum grey level: burnt-in annotations and saturated markers.

    A plateau is a connected set of at least 12 pixels all at the maximum (one peak
    pixel of a bright calcification is not); it is widened by 2 pixels, the blur of
    its edge.
    """
    from scipy import ndimage as ndi

    top = float(pixels[valid].max())
    flat = (pixels >= top) & valid
    if flat.sum() < 12 or flat.mean() > 0.2:  # a fifth of the film at the maximum is not a marker
        return np.zeros(pixels.shape, dtype=bool)
    lab, n = ndi.label(flat, structure=np.ones((3, 3)))
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    big = sizes >= 12
    if not big.any():
        return np.zeros(pixels.shape, dtype=bool)
    return ndi.binary_dilation(big[lab], iterations=2) & valid


def _breast_small(small: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The breast on the working grid (bool), markers already neutralised."""
    from scipy import ndimage as ndi
    from skimage import filters, morphology

    smooth = filters.gaussian(small, sigma=1.0, preserve_range=True)
    levels = smooth[valid]
    lo, hi = float(levels.min()), float(levels.max())
    if hi <= lo:
        return np.zeros(small.shape, dtype=bool)
    hist, edges = np.histogram(levels, bins=256, range=(lo, hi))
    background = float(edges[int(np.argmax(hist[:128]))])  # the dark air / film mode
    otsu = float(filters.threshold_otsu(levels))
    threshold = background + 0.25 * max(otsu - background, 0.0) + 0.02 * (hi - lo)
    fg = (smooth > threshold) & valid
    dark = valid & ~fg
    if not _is_background(small, fg, dark):
        return valid.copy()  # no air or film around: breast throughout (a crop)
    fg &= ~_edge_strips(fg, valid)
    # Cut thin bridges (a label or device touching the skin, the rest of a film strip):
    # the breast is the largest object that survives an opening.
    radius = max(2, int(round(0.012 * max(small.shape))))
    core = ndi.binary_opening(fg, structure=morphology.disk(radius))
    if not core.any():
        core = ndi.binary_opening(fg, structure=morphology.disk(1))
        if not core.any():
            return np.zeros(small.shape, dtype=bool)
    core = _largest_component(core)
    # Give back the outline the opening rounded off, but not what it cut away.
    near = ndi.binary_dilation(core, structure=morphology.disk(radius + 1))
    region = fg & near
    region = _largest_component(region)
    # Pad so that closing does not erode the breast where it meets the film edge.
    region = ndi.binary_closing(np.pad(region, 3, mode="edge"), structure=morphology.disk(2))[3:-3, 3:-3]
    region = ndi.binary_fill_holes(region) & valid
    return region


def _is_background(small: np.ndarray, fg: np.ndarray, dark: np.ndarray) -> bool:
    """Whether the dark class is air / film (darker than the breast and smooth) rather than fat.

    Fatty tissue, the dark class of a crop inside the breast, has texture like the
    rest of the breast and a grey level close to it; air and unexposed film are
    far darker than the breast in units of the breast's texture, or far smoother.
    """
    from scipy import ndimage as ndi

    if dark.sum() < 0.02 * (dark.sum() + fg.sum()) or fg.sum() < 0.02 * (dark.sum() + fg.sum()):
        return fg.sum() < dark.sum()  # nearly all dark: background (blank film); nearly all bright: crop
    detail = small - ndi.gaussian_filter(small, 2.0)
    dark_core = ndi.binary_erosion(dark, iterations=2)
    fg_core = ndi.binary_erosion(fg, iterations=2)
    if dark_core.sum() < 10 or fg_core.sum() < 10:
        return True
    t_dark = 1.4826 * float(np.median(np.abs(detail[dark_core] - np.median(detail[dark_core]))))
    t_fg = 1.4826 * float(np.median(np.abs(detail[fg_core] - np.median(detail[fg_core]))))
    gap = float(np.median(small[fg_core]) - np.median(small[dark_core]))
    smooth_ratio = t_dark / max(t_fg, 1e-12)
    return smooth_ratio < 0.5 or (smooth_ratio < 1.0 and gap > 20.0 * max(t_fg, 1e-12))


def _edge_strips(fg: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Bright bands hugging an image edge with background right behind them.

    Walking inwards from an edge of the film, a film border or collimator edge is a
    short bright run followed by background; the breast at the chest wall is a long
    run. Runs that start within ``near`` of the edge and end within ``width`` of it
    are strips.
    """
    rows, cols = fg.shape
    width = max(3, int(round(0.03 * max(rows, cols))))
    near = max(1, int(round(0.01 * max(rows, cols))))
    strips = np.zeros_like(fg)
    rr = np.nonzero(valid.any(axis=1))[0]
    cc = np.nonzero(valid.any(axis=0))[0]
    if rr.size == 0 or cc.size == 0:
        return strips
    r0, r1, c0, c1 = int(rr[0]), int(rr[-1]) + 1, int(cc[0]), int(cc[-1]) + 1
    views = (
        (fg[r0:r1, c0:c1], strips[r0:r1, c0:c1]),  # from the top
        (fg[r0:r1, c0:c1][::-1], strips[r0:r1, c0:c1][::-1]),  # from the bottom
        (fg[r0:r1, c0:c1].T, strips[r0:r1, c0:c1].T),  # from the left
        (fg[r0:r1, c0:c1].T[::-1], strips[r0:r1, c0:c1].T[::-1]),  # from the right
    )
    for f, s in views:
        depth = min(f.shape[0], near + width + 1)
        head = f[:depth]
        start = np.argmax(head, axis=0)  # first bright pixel of each line
        has = head.any(axis=0) & (start < near)
        after = np.where(has, start, 0)
        # length of the bright run starting there
        run = np.zeros(f.shape[1], dtype=int)
        for j in np.nonzero(has)[0]:
            k = after[j]
            seg = head[k:, j]
            end = np.argmin(seg) if not seg.all() else seg.size
            run[j] = end if not seg.all() else depth  # touches ``depth``: a long run
        short = has & (run > 0) & (run + after < near + width)
        for j in np.nonzero(short)[0]:
            s[after[j] : after[j] + run[j], j] = True
    return strips


def _pectoral(
    small: np.ndarray, breast: np.ndarray, side: str, min_step: float, first_row: int | None = None
) -> tuple[np.ndarray, float]:
    """The pectoral muscle on the working grid (bool, empty when not found) and its edge step.

    The chest wall is on ``side``; the step is the best line's, in robust spreads (-inf
    when no line could be scored).
    """
    from scipy import ndimage as ndi

    img = small if side == "left" else small[:, ::-1]
    region = breast if side == "left" else breast[:, ::-1]
    out = np.zeros_like(region)
    best = -math.inf
    rows_with = np.nonzero(region.any(axis=1))[0]
    cols_with = np.nonzero(region.any(axis=0))[0]
    if rows_with.size < 10 or cols_with.size < 10:
        return _flip(out, side), best
    r_top, r_bot = int(rows_with[0]), int(rows_with[-1]) + 1
    if first_row is not None and r_top > first_row + 2:
        return _flip(out, side), best  # the muscle runs off the film's top edge; this breast does not
    wall = int(cols_with[0])
    height = r_bot - r_top
    # the breast's reach from the chest wall in its top rows bounds the muscle's width
    top_rows = region[r_top : r_top + max(2, height // 20)]
    top_width = int(np.nonzero(top_rows.any(axis=0))[0][-1]) + 1 - wall
    if top_width < 6:
        return _flip(out, side), best
    smooth = ndi.gaussian_filter(img, _SIGMA)
    values = smooth[region]
    med = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - med)))
    if spread <= 0:
        return _flip(out, side), best
    sub = np.where(region, smooth, 0.0)[r_top:r_bot, wall:]
    inb = region[r_top:r_bot, wall:].astype(float)
    width = sub.shape[1]
    band = max(2, int(round(_BAND * width)))
    csum = np.concatenate([np.zeros((height, 1)), np.cumsum(sub, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((height, 1)), np.cumsum(inb, axis=1)], axis=1)
    tops = np.linspace(0.08, 1.6, 40) * top_width  # muscle width at the top row (may pass the skin)
    depths = np.linspace(0.1, 1.0, 40) * height  # muscle height at the chest wall
    r = np.arange(height, dtype=float)
    a = tops[:, None, None]
    b = depths[None, :, None]
    x = np.rint(a * (1.0 - r[None, None, :] / b)).astype(int)  # line position per row
    live = x >= band
    xi = np.clip(x, 0, width)
    lo = np.clip(x - band, 0, width)
    hi = np.clip(x + band, 0, width)
    rows_idx = np.broadcast_to(np.arange(height), x.shape)
    s_in = csum[rows_idx, xi] - csum[rows_idx, lo]
    n_in = ccnt[rows_idx, xi] - ccnt[rows_idx, lo]
    s_out = csum[rows_idx, hi] - csum[rows_idx, xi]
    n_out = ccnt[rows_idx, hi] - ccnt[rows_idx, xi]
    ok = live & (n_in >= 1) & (n_out >= 1)
    step = np.where(ok, s_in / np.maximum(n_in, 1) - s_out / np.maximum(n_out, 1), 0.0)
    count = ok.sum(axis=2)
    score = np.where(count >= 5, step.sum(axis=2) / np.maximum(count, 1), -np.inf) / spread
    ia, ib = np.unravel_index(int(np.argmax(score)), score.shape)
    best = float(score[ia, ib])
    if not np.isfinite(score[ia, ib]) or score[ia, ib] < min_step:
        return _flip(out, side), best
    # Refine: per row, the strongest step within reach of the line, then a quadratic fit.
    top, depth = float(tops[ia]), float(depths[ib])
    reach = max(2, int(round(0.12 * top)))
    ys, xs, ws = [], [], []
    for row in range(int(min(height, math.ceil(depth)))):
        x0 = int(round(top * (1.0 - row / depth)))
        if x0 < band:
            continue
        cand = np.arange(max(band, x0 - reach), min(width - band, x0 + reach) + 1)
        if cand.size == 0:
            continue
        n1 = ccnt[row, cand] - ccnt[row, cand - band]
        n2 = ccnt[row, cand + band] - ccnt[row, cand]
        good = (n1 >= 1) & (n2 >= 1)
        if not good.any():
            continue
        st = (csum[row, cand] - csum[row, cand - band]) / np.maximum(n1, 1) - (
            csum[row, cand + band] - csum[row, cand]
        ) / np.maximum(n2, 1)
        st = np.where(good, st, -np.inf)
        k = int(np.argmax(st))
        if st[k] > 0:
            ys.append(row)
            xs.append(float(cand[k]))
            ws.append(float(st[k]))
    if len(ys) < 5:
        return _flip(out, side), best
    yv, xv, wv = np.asarray(ys, float), np.asarray(xs, float), np.asarray(ws, float)
    coef = np.polyfit(yv, xv, 2, w=np.sqrt(wv))
    resid = np.abs(np.polyval(coef, yv) - xv)
    inl = resid <= max(2.0, 2.5 * float(np.median(resid)))
    if inl.sum() >= 5:
        coef = np.polyfit(yv[inl], xv[inl], 2, w=np.sqrt(wv[inl]))
    rows_all = np.arange(height, dtype=float)
    boundary = np.polyval(coef, rows_all)
    # Below the line's end the muscle is over; keep the boundary non-increasing downwards.
    boundary = np.minimum.accumulate(np.where(rows_all < depth * 1.1, boundary, 0.0))
    yy, xx = np.mgrid[:height, :width]
    muscle_sub = (xx < boundary[:, None]) & region[r_top:r_bot, wall:]
    area = float(muscle_sub.sum())
    total = float(region.sum())
    if not (0.01 * total <= area <= 0.6 * total):
        return _flip(out, side), best
    rest = region[r_top:r_bot, wall:] & ~muscle_sub
    ring = rest & (xx < boundary[:, None] + 3 * band) & (yy < depth * 1.1)
    if ring.sum() < 5 or float(np.median(sub[muscle_sub])) <= float(np.median(sub[ring])):
        return _flip(out, side), best
    out[r_top:r_bot, wall:] = muscle_sub
    return _flip(out, side), best


def _flip(mask: np.ndarray, side: str) -> np.ndarray:
    return mask if side == "left" else mask[:, ::-1]
