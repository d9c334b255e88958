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
def _sum_diff_indices(levels: int, directions: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin of every (direction, i, j) in p_{x+y} (i + j) and p_{x-y} (|i - j|), per direction."""
    g = np.arange(levels)
    d = np.arange(directions)[:, None]
    sum_idx = d * (2 * levels - 1) + (g[:, None] + g[None, :]).ravel()[None]
    diff_idx = d * levels + np.abs(g[:, None] - g[None, :]).ravel()[None]
    return sum_idx.ravel(), diff_idx.ravel()


def glcm_distance(pixel_spacing_mm: float | None) -> int:
    """GLCM offset in pixels: 1 at 0.2 mm spacing or coarser, 0.2 mm on finer grids."""
    if pixel_spacing_mm is None or pixel_spacing_mm >= GLCM_REFERENCE_SPACING_MM:
        return 1
    if not pixel_spacing_mm > 0:
        raise FeatureError(
            f"pixel_spacing_mm must be a positive number of millimetres, got {pixel_spacing_mm!r}"
        )
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

    Raises
    ------
    FeatureError
        If ``levels_image`` is not a 2-D integer array with values in
        ``0 … levels``, or ``distance`` is not an integer >= 1.
    """
    q = np.asarray(levels_image)
    if q.ndim != 2 or q.dtype.kind not in "iu":
        raise FeatureError(f"levels_image must be a 2-D integer array, got {q.dtype} of shape {q.shape}")
    if isinstance(distance, bool) or not isinstance(distance, int | np.integer) or distance < 1:
        raise FeatureError(f"distance must be an integer >= 1, got {distance!r}")
    if q.size and (q.min() < 0 or q.max() > levels):
        raise FeatureError(f"levels_image values must lie in 0 … {levels}, got {q.min()} … {q.max()}")
    rows, cols = q.shape
    # One bincount for all directions: pair (a, b) of direction k counts at
    # k·(L+1)² + a·(L+1) + b, with 0 = outside the region; the pairs touching the
    # outside are then dropped by slicing. The image is padded with zeros (d rows
    # above, d columns each side, d values before and after) and flattened, so that
    # each direction is one contiguous shifted slice.
    width = levels + 1
    n_dir = len(_DIRECTIONS)
    dtype = np.int32 if n_dir * width * width < 2**31 else np.int64
    d = distance
    stride = cols + 2 * d
    padded = np.zeros((rows + d) * stride + 2 * d, dtype=dtype)
    padded[d : d + (rows + d) * stride].reshape(rows + d, stride)[d:, d : d + cols] = q
    start = d + d * stride
    n = rows * stride
    a = padded[start : start + n] * dtype(width)
    codes = np.empty(n_dir * n, dtype=dtype)
    for k, (dr, dc) in enumerate(_DIRECTIONS):
        # a = q[r, c], b = q[r + dr·d, c + dc·d]
        shift = start + (dr * stride + dc) * d
        out = codes[k * n : (k + 1) * n]
        np.add(a, padded[shift : shift + n], out=out)
        if k:
            out += dtype(k * width * width)
    counts = np.bincount(codes, minlength=n_dir * width * width)
    counts = counts.reshape(n_dir, width, width)[:, 1:, 1:].astype(np.float64)
    return counts + counts.transpose(0, 2, 1)


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

    px = p.sum(axis=2)  # (d, N)
    py = p.sum(axis=1)
    ux = px @ g
    uy = py @ g
    # p_{x+y}(k), k = 2 … 2N and p_{x-y}(k), k = 0 … N-1, summed by index
    sum_idx, diff_idx = _sum_diff_indices(levels, p.shape[0])
    flat = p.reshape(p.shape[0], -1)
    p_sum = np.bincount(sum_idx, flat.ravel(), minlength=sum_idx[-1] + 1).reshape(p.shape[0], -1)
    p_diff = np.bincount(diff_idx, flat.ravel(), minlength=diff_idx[-1] + 1).reshape(p.shape[0], -1)
    k_sum = np.arange(2, 2 * levels + 1, dtype=np.float64)
    k_diff = np.arange(levels, dtype=np.float64)

    def entropy(x: np.ndarray) -> np.ndarray:
        return -np.sum(x * np.log2(x + _EPS), axis=1)

    hxy = entropy(flat)
    hx = entropy(px)
    hy = entropy(py)
    pxpy = (px[:, :, None] * py[:, None, :]).reshape(p.shape[0], -1)
    log_pxpy = np.log2(pxpy + _EPS)
    hxy1 = -np.sum(flat * log_pxpy, axis=1)
    hxy2 = -np.sum(pxpy * log_pxpy, axis=1)

    # Moments of the marginals; the covariance as sum_i (i - ux) sum_j p(i, j) (j - uy).
    dx = g[None] - ux[:, None]  # (d, N)
    dy = g[None] - uy[:, None]
    sigx = np.sqrt(np.sum(px * dx**2, axis=1))
    sigy = np.sqrt(np.sum(py * dy**2, axis=1))
    cov = np.sum(dx * np.matmul(p, dy[:, :, None])[:, :, 0], axis=1)
    flat_dir = sigx * sigy == 0
    correlation = np.where(flat_dir, 1.0, cov / np.where(flat_dir, 1.0, sigx * sigy + _EPS))

    div = np.fmax(hx, hy)
    imc1 = np.where(div != 0, (hxy - hxy1) / np.where(div != 0, div, 1.0), 0.0)
    gap = hxy2 - hxy
    # HXY2 ≥ HXY in exact arithmetic; rounding may make it slightly negative (pyradiomics: 0 when equal).
    imc2 = np.where(gap == 0, 0.0, np.sqrt(np.clip(1.0 - np.exp(-2.0 * gap), 0.0, None)))

    sum_average = p_sum @ k_sum
    diff_average = p_diff @ k_diff
    # Sums over (i, j) that depend on |i - j| or i + j only, taken over p_{x-y} and p_{x+y}.
    shade = k_sum[None] - ux[:, None] - uy[:, None]
    per_direction = {
        "entropy": hxy,
        "inverse_difference": p_diff @ (1.0 / (1.0 + k_diff)),
        "difference_entropy": entropy(p_diff),
        "correlation": correlation,
        "difference_variance": np.sum(p_diff * (k_diff[None] - diff_average[:, None]) ** 2, axis=1),
        "sum_average": sum_average,
        "sum_variance": np.sum(p_sum * (k_sum[None] - sum_average[:, None]) ** 2, axis=1),
        "energy": np.sum(flat * flat, axis=1),
        "imc1": imc1,
        "imc2": imc2,
        "contrast": p_diff @ k_diff**2,
        "inverse_difference_moment": p_diff @ (1.0 / (1.0 + k_diff**2)),
        "cluster_shade": np.sum(p_sum * shade**3, axis=1),
    }
    means = np.vstack([per_direction[name] for name in GLCM_FEATURES]).mean(axis=1)
    return dict(zip(GLCM_FEATURES, means.tolist(), strict=True))
