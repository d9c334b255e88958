"""Grey-level co-occurrence texture (Haralick 1973), in vectorised NumPy.

The mass texture features are computed on the grey values inside the mass mask,
quantised to :data:`GLCM_LEVELS` = 32 equal-width bins between the lowest and the
highest grey value of the mask (a fixed bin count, so the features do not change
under a linear change of the grey values). For each of the four directions 0°,
45°, 90° and 135° a symmetric co-occurrence matrix counts the pairs of mask pixels
``distance`` pixels apart; it is normalised to sum 1, the features are computed per
direction and averaged over the directions that have at least one pair. This is
pyradiomics' GLCM with ``force2D``, ``symmetricalGLCM`` and no distance weighting,
and the results agree with it to machine precision (``tests/features/test_texture.py``).

Why distance 1: on the paper's 1024-pixel grid one pixel is about 0.2 mm, the
scale of the finest structures a mass margin or parenchyma shows on a mini-MIAS
film; larger offsets mostly measure the mass's overall grey ramp, which the
intensity features already cover. :func:`glcm_distance` keeps the offset at
0.2 mm when the grid is finer.
"""

from __future__ import annotations

import functools

import numpy as np

from mammocad.errors import FeatureError

__all__ = [
    "GLCM_LEVELS",
    "GLCM_FEATURES",
    "GLCM_REFERENCE_SPACING_MM",
    "quantise",
    "glcm",
    "glcm_features",
    "glcm_distance",
]

#: Number of grey levels the mass is quantised to.
GLCM_LEVELS = 32
#: The GLCM offset is one pixel at this spacing, proportionally more on finer grids.
GLCM_REFERENCE_SPACING_MM = 0.2
#: Names of the texture features :func:`glcm_features` returns, in registry order
#: (the registry column is ``"mass_glcm_" + name``).
GLCM_FEATURES = (
    "entropy",
    "inverse_difference",
    "difference_entropy",
    "correlation",
    "difference_variance",
    "sum_average",
    "sum_variance",
    "energy",
    "imc1",
    "imc2",
    "contrast",
    "inverse_difference_moment",
    "cluster_shade",
)
# Same epsilon as pyradiomics inside logarithms, so p = 0 terms vanish identically.
_EPS = float(np.spacing(1))
# (row, col) offsets of the four directions 0°, 45°, 90°, 135°.
_DIRECTIONS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))


@functools.lru_cache(maxsize=8)
def _sum_diff_matrices(levels: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(levels)
    sum_idx = (g[:, None] + g[None, :]).ravel()
    diff_idx = np.abs(g[:, None] - g[None, :]).ravel()
    to_sum = np.zeros((levels * levels, 2 * levels - 1))
    to_sum[np.arange(levels * levels), sum_idx] = 1.0
    to_diff = np.zeros((levels * levels, levels))
    to_diff[np.arange(levels * levels), diff_idx] = 1.0
    return to_sum, to_diff


def glcm_distance(pixel_spacing_mm: float | None) -> int:
    """GLCM offset in pixels: 1 at 0.2 mm spacing or coarser, 0.2 mm on finer grids."""
    if pixel_spacing_mm is None or pixel_spacing_mm >= GLCM_REFERENCE_SPACING_MM:
        return 1
    return max(1, int(round(GLCM_REFERENCE_SPACING_MM / pixel_spacing_mm)))


def quantise(image: np.ndarray, mask: np.ndarray, levels: int = GLCM_LEVELS) -> np.ndarray:
    """Quantise the grey values inside ``mask`` to ``1 … levels`` (0 outside).

    Bins have equal width between the minimum and maximum grey value of the mask;
    the maximum goes to the top bin. A mask with a single grey value maps to 1.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
    mask : bool ndarray, same shape
    levels : int

    Returns
    -------
    ndarray of int32
    """
    if image.shape != mask.shape:
        raise FeatureError(f"image shape {image.shape} and mask shape {mask.shape} differ")
    if levels < 1:
        raise FeatureError(f"levels must be ≥ 1, got {levels}")
    out = np.zeros(image.shape, dtype=np.int32)
    values = image[mask].astype(np.float64)
    if values.size == 0:
        return out
    lo, hi = float(values.min()), float(values.max())
    if hi > lo:
        q = np.floor((values - lo) * (levels / (hi - lo))).astype(np.int32) + 1
        out[mask] = np.minimum(q, levels)
    else:
        out[mask] = 1
    return out


def glcm(levels_image: np.ndarray, *, levels: int = GLCM_LEVELS, distance: int = 1) -> np.ndarray:
    """Symmetric co-occurrence counts of the four directions.

    Parameters
    ----------
    levels_image : int ndarray
        Quantised image, ``1 … levels`` inside the region, 0 outside (as made by
        :func:`quantise`).
    levels : int
    distance : int
        Offset in pixels.

    Returns
    -------
    ndarray, shape (4, levels, levels)
        Pair counts (not normalised) for 0°, 45°, 90°, 135°; each is symmetric.
    """
    q = np.asarray(levels_image)
    out = np.zeros((len(_DIRECTIONS), levels, levels), dtype=np.float64)
    rows, cols = q.shape
    for k, (dr, dc) in enumerate(_DIRECTIONS):
        dr, dc = dr * distance, dc * distance
        # a = q[r, c], b = q[r + dr, c + dc] over all positions where both exist
        a = q[max(0, -dr) : rows - max(0, dr), max(0, -dc) : cols - max(0, dc)]
        b = q[max(0, dr) : rows + min(0, dr), max(0, dc) : cols + min(0, dc)]
        valid = (a > 0) & (b > 0)
        if not valid.any():
            continue
        idx = (a[valid] - 1).astype(np.int64) * levels + (b[valid] - 1)
        counts = np.bincount(idx, minlength=levels * levels).reshape(levels, levels).astype(np.float64)
        out[k] = counts + counts.T
    return out


def glcm_features(
    levels_image: np.ndarray, *, levels: int = GLCM_LEVELS, distance: int = 1
) -> dict[str, float]:
    """The 13 GLCM features of a quantised region, averaged over four directions.

    Parameters
    ----------
    levels_image : int ndarray
        Quantised image from :func:`quantise` (0 outside the region).
    levels : int
    distance : int

    Returns
    -------
    dict
        ``{name: value}`` for the names in :data:`GLCM_FEATURES`. A region with no
        pixel pair at the offset in any direction (e.g. one pixel) gives 0 for all.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[1, 1], [2, 2]])
    >>> glcm_features(q, levels=2)["energy"]  # every direction: two equally likely pairs
    0.5
    """
    counts = glcm(levels_image, levels=levels, distance=distance)
    totals = counts.sum(axis=(1, 2))
    counts = counts[totals > 0]
    if counts.shape[0] == 0:
        return dict.fromkeys(GLCM_FEATURES, 0.0)
    p = counts / counts.sum(axis=(1, 2), keepdims=True)  # (d, N, N)
    g = np.arange(1, levels + 1, dtype=np.float64)
    i, j = g[:, None], g[None, :]

    px = p.sum(axis=2)  # (d, N)
    py = p.sum(axis=1)
    ux = px @ g
    uy = py @ g
    # p_{x+y}(k), k = 2 … 2N and p_{x-y}(k), k = 0 … N-1, as products with 0/1 matrices
    to_sum, to_diff = _sum_diff_matrices(levels)
    flat = p.reshape(p.shape[0], -1)
    p_sum = flat @ to_sum
    p_diff = flat @ to_diff
    k_sum = np.arange(2, 2 * levels + 1, dtype=np.float64)
    k_diff = np.arange(levels, dtype=np.float64)

    def entropy(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return -np.sum(x * np.log2(x + _EPS), axis=axes)

    hxy = entropy(p, (1, 2))
    hx = entropy(px, (1,))
    hy = entropy(py, (1,))
    pxpy = px[:, :, None] * py[:, None, :]
    hxy1 = -np.sum(p * np.log2(pxpy + _EPS), axis=(1, 2))
    hxy2 = entropy(pxpy, (1, 2))

    sigx = np.sqrt(np.sum(p * (i[None] - ux[:, None, None]) ** 2, axis=(1, 2)))
    sigy = np.sqrt(np.sum(p * (j[None] - uy[:, None, None]) ** 2, axis=(1, 2)))
    cov = np.sum(p * (i[None] - ux[:, None, None]) * (j[None] - uy[:, None, None]), axis=(1, 2))
    flat_dir = sigx * sigy == 0
    correlation = np.where(flat_dir, 1.0, cov / np.where(flat_dir, 1.0, sigx * sigy + _EPS))

    div = np.fmax(hx, hy)
    imc1 = np.where(div != 0, (hxy - hxy1) / np.where(div != 0, div, 1.0), 0.0)
    gap = hxy2 - hxy
    # HXY2 ≥ HXY in exact arithmetic; rounding may make it slightly negative (pyradiomics: 0 when equal).
    imc2 = np.where(gap == 0, 0.0, np.sqrt(np.clip(1.0 - np.exp(-2.0 * gap), 0.0, None)))

    sum_average = p_sum @ k_sum
    diff_average = p_diff @ k_diff
    absdiff = np.abs(i - j)
    shade = (i + j)[None] - ux[:, None, None] - uy[:, None, None]
    per_direction = {
        "entropy": hxy,
        "inverse_difference": np.sum(p / (1.0 + absdiff)[None], axis=(1, 2)),
        "difference_entropy": entropy(p_diff, (1,)),
        "correlation": correlation,
        "difference_variance": np.sum(p_diff * (k_diff[None] - diff_average[:, None]) ** 2, axis=1),
        "sum_average": sum_average,
        "sum_variance": np.sum(p_sum * (k_sum[None] - sum_average[:, None]) ** 2, axis=1),
        "energy": np.sum(p**2, axis=(1, 2)),
        "imc1": imc1,
        "imc2": imc2,
        "contrast": np.sum(p * (absdiff**2)[None], axis=(1, 2)),
        "inverse_difference_moment": np.sum(p / (1.0 + absdiff**2)[None], axis=(1, 2)),
        "cluster_shade": np.sum(p * shade**3, axis=(1, 2)),
    }
    return {name: float(np.mean(per_direction[name])) for name in GLCM_FEATURES}
