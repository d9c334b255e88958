"""The 13 GLCM texture features of a mass (Haralick 1973), one function each, in vectorised NumPy.

The mass texture features are computed on the grey values inside the mass mask,
quantised to :data:`GLCM_LEVELS` equal-width bins between the lowest and the
highest grey value of the mask (a fixed bin count, so the features do not change
under a linear change of the grey values). For each of the four directions 0°,
45°, 90° and 135° a symmetric co-occurrence matrix counts the pairs of mask pixels
``distance`` pixels apart; it is normalised to sum 1 (:class:`CoOccurrence`), the
features are computed per direction and averaged over the directions that have at
least one pair. This is pyradiomics' GLCM with ``force2D``, ``symmetricalGLCM`` and
no distance weighting, and the results agree with it to machine precision
(``tests/features/test_texture.py``).

Why distance 1: on the paper's 1024-pixel grid one pixel is about 0.2 mm, the
scale of the finest structures a mass margin or parenchyma shows on a mini-MIAS
film; larger offsets mostly measure the mass's overall grey ramp, which the
intensity features already cover. :func:`glcm_distance` keeps the offset at
:data:`GLCM_REFERENCE_SPACING_MM` mm when the grid is finer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mammocad.errors import FeatureError
from mammocad.features.spec import EXACT_GRID, cached, feature

if TYPE_CHECKING:
    from mammocad.features.mass import MassRegion

__all__ = [
    "GLCM_LEVELS",
    "GLCM_REFERENCE_SPACING_MM",
    "CoOccurrence",
    "quantise",
    "quantise_values",
    "glcm",
    "glcm_distance",
]

#: Number of grey levels the mass is quantised to.
GLCM_LEVELS = 32
#: The GLCM offset is one pixel at this spacing, proportionally more on finer grids.
GLCM_REFERENCE_SPACING_MM = 0.2
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
    return quantise_values(image[mask].astype(np.float64), mask, levels)


def quantise_values(values: np.ndarray, mask: np.ndarray, levels: int = GLCM_LEVELS) -> np.ndarray:
    """:func:`quantise` given ``values = image[mask]`` as float64 (when the caller has them)."""
    out = np.zeros(mask.shape, dtype=np.int32)
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
    return _glcm(q, levels, distance)


def _glcm(q: np.ndarray, levels: int, distance: int) -> np.ndarray:
    """:func:`glcm` of a valid quantised image (as :func:`quantise` makes), unchecked."""
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


@dataclass(frozen=True, eq=False)
class CoOccurrence:
    """Normalised GLCMs of the directions with at least one pair, and what Haralick's features
    are made of, per direction (computed on first use).

    Parameters
    ----------
    p : ndarray, shape (directions, levels, levels)
        ``p(i, j)`` of each direction that has a pair: symmetric, sums to 1. No
        direction (a region without any pair at the offset) gives every feature 0.
    """

    p: np.ndarray

    @classmethod
    def of(cls, levels_image: np.ndarray, *, levels: int = GLCM_LEVELS, distance: int = 1) -> CoOccurrence:
        """The normalised GLCMs of a quantised image (see :func:`glcm`)."""
        counts = glcm(levels_image, levels=levels, distance=distance)
        return cls._normalised(counts)

    @classmethod
    def of_region(cls, levels_image: np.ndarray, *, levels: int, distance: int) -> CoOccurrence:
        """:meth:`of` an image made by :func:`quantise` with ``levels`` (not checked again)."""
        return cls._normalised(_glcm(levels_image, levels, distance))

    @classmethod
    def _normalised(cls, counts: np.ndarray) -> CoOccurrence:
        totals = counts.sum(axis=(1, 2))
        keep = totals > 0
        return cls(counts[keep] / totals[keep][:, None, None])

    def average(self, per_direction: np.ndarray) -> float:
        """The mean of a feature over the directions; 0 when there is none."""
        # = float(per_direction.mean()), bit for bit, without np.mean's overhead
        return float(np.add.reduce(per_direction)) / per_direction.size if per_direction.size else 0.0

    @cached
    def levels(self) -> np.ndarray:
        """Grey levels ``1 … N_g``."""
        return np.arange(1, self.p.shape[1] + 1, dtype=np.float64)

    @cached
    def flat(self) -> np.ndarray:
        """``p`` with each direction flattened, shape (directions, N_g²)."""
        n_dir, levels = self.p.shape[0], self.p.shape[1]
        return self.p.reshape(n_dir, levels * levels)

    @cached
    def px(self) -> np.ndarray:
        """Marginal ``p_x(i) = Σ_j p(i, j)``, shape (directions, N_g)."""
        return self.p.sum(axis=2)

    @cached
    def py(self) -> np.ndarray:
        """Marginal ``p_y(j) = Σ_i p(i, j)``."""
        return self.p.sum(axis=1)

    @cached
    def ux(self) -> np.ndarray:
        """``μx = Σ_i i·p_x(i)``, per direction."""
        return self.px @ self.levels

    @cached
    def uy(self) -> np.ndarray:
        """``μy = Σ_j j·p_y(j)``, per direction."""
        return self.py @ self.levels

    @cached
    def _sum_diff(self) -> tuple[np.ndarray, np.ndarray]:
        # p_{x+y}(k), k = 2 … 2N and p_{x-y}(k), k = 0 … N-1, summed by index
        n_dir, levels = self.p.shape[0], self.p.shape[1]
        if n_dir == 0:
            return np.zeros((0, 2 * levels - 1)), np.zeros((0, levels))
        sum_idx, diff_idx = _sum_diff_indices(levels, n_dir)
        flat = self.flat.ravel()
        p_sum = np.bincount(sum_idx, flat, minlength=sum_idx[-1] + 1).reshape(n_dir, -1)
        p_diff = np.bincount(diff_idx, flat, minlength=diff_idx[-1] + 1).reshape(n_dir, -1)
        return p_sum, p_diff

    @property
    def p_sum(self) -> np.ndarray:
        """``p_{x+y}(k)``, ``k = 2 … 2N_g`` (:attr:`k_sum`), per direction."""
        return self._sum_diff[0]

    @property
    def p_diff(self) -> np.ndarray:
        """``p_{x-y}(k)``, ``k = 0 … N_g-1`` (:attr:`k_diff`), per direction."""
        return self._sum_diff[1]

    @cached
    def k_sum(self) -> np.ndarray:
        """``k = 2 … 2N_g``."""
        return np.arange(2, 2 * self.p.shape[1] + 1, dtype=np.float64)

    @cached
    def k_diff(self) -> np.ndarray:
        """``k = 0 … N_g-1``."""
        return np.arange(self.p.shape[1], dtype=np.float64)

    @cached
    def hxy(self) -> np.ndarray:
        """``HXY``: entropy of ``p``, per direction."""
        return _entropy(self.flat)

    @cached
    def _log_pxpy(self) -> tuple[np.ndarray, np.ndarray]:
        pxpy = (self.px[:, :, None] * self.py[:, None, :]).reshape(self.flat.shape)
        return pxpy, np.log2(pxpy + _EPS)

    @property
    def hxy1(self) -> np.ndarray:
        """``HXY1 = -Σ p(i,j)·log2(p_x(i)·p_y(j))``."""
        return -np.sum(self.flat * self._log_pxpy[1], axis=1)

    @property
    def hxy2(self) -> np.ndarray:
        """``HXY2 = -Σ p_x(i)·p_y(j)·log2(p_x(i)·p_y(j))``."""
        pxpy, log_pxpy = self._log_pxpy
        return -np.sum(pxpy * log_pxpy, axis=1)

    @cached
    def sum_average(self) -> np.ndarray:
        """``SA = Σ_k k·p_{x+y}(k)``, per direction."""
        return self.p_sum @ self.k_sum


def _entropy(x: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of ``x``."""
    return -np.sum(x * np.log2(x + _EPS), axis=1)


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_entropy(m: MassRegion) -> float:
    """GLCM joint entropy.

    Formula: ``-Σ p(i,j)·log2 p(i,j)``
    """
    return m.glcm.average(m.glcm.hxy)


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_inverse_difference(m: MassRegion) -> float:
    """GLCM inverse difference (homogeneity 1).

    Formula: ``Σ p(i,j) / (1 + |i-j|)``
    """
    g = m.glcm
    # Sums over (i, j) that depend on |i - j| or i + j only are taken over p_{x-y} and p_{x+y}.
    return g.average(g.p_diff @ (1.0 / (1.0 + g.k_diff)))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_difference_entropy(m: MassRegion) -> float:
    """GLCM difference entropy.

    Formula: ``-Σ_k p_{x-y}(k)·log2 p_{x-y}(k)``
    """
    return m.glcm.average(_entropy(m.glcm.p_diff))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_correlation(m: MassRegion) -> float:
    """GLCM correlation (1 where a direction has a single grey level).

    Formula: ``(Σ i·j·p(i,j) - μx·μy) / (σx·σy)``
    """
    g = m.glcm
    # Moments of the marginals; the covariance as sum_i (i - ux) sum_j p(i, j) (j - uy).
    dx = g.levels[None] - g.ux[:, None]  # (d, N)
    dy = g.levels[None] - g.uy[:, None]
    sigx = np.sqrt(np.sum(g.px * dx**2, axis=1))
    sigy = np.sqrt(np.sum(g.py * dy**2, axis=1))
    cov = np.sum(dx * np.matmul(g.p, dy[:, :, None])[:, :, 0], axis=1)
    flat_dir = sigx * sigy == 0
    return g.average(np.where(flat_dir, 1.0, cov / np.where(flat_dir, 1.0, sigx * sigy + _EPS)))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_difference_variance(m: MassRegion) -> float:
    """GLCM difference variance.

    Formula: ``Σ_k (k - DA)²·p_{x-y}(k), DA = Σ_k k·p_{x-y}(k)``
    """
    g = m.glcm
    diff_average = g.p_diff @ g.k_diff
    return g.average(np.sum(g.p_diff * (g.k_diff[None] - diff_average[:, None]) ** 2, axis=1))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_sum_average(m: MassRegion) -> float:
    """GLCM sum average.

    Formula: ``SA = Σ_k k·p_{x+y}(k)``
    """
    return m.glcm.average(m.glcm.sum_average)


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_sum_variance(m: MassRegion) -> float:
    """GLCM sum variance, with the sum average as centre (Haralick's printed formula used the sum
    entropy; this is pyradiomics' cluster tendency).

    Formula: ``Σ_k (k - SA)²·p_{x+y}(k)``
    """
    g = m.glcm
    return g.average(np.sum(g.p_sum * (g.k_sum[None] - g.sum_average[:, None]) ** 2, axis=1))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_energy(m: MassRegion) -> float:
    """GLCM energy (angular second moment).

    Formula: ``Σ p(i,j)²``
    """
    flat = m.glcm.flat
    return m.glcm.average(np.sum(flat * flat, axis=1))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_imc1(m: MassRegion) -> float:
    """GLCM first information measure of correlation (mutual information; 0 where HX = HY = 0).

    Formula: ``(HXY - HXY1) / max(HX, HY)``
    """
    g = m.glcm
    div = np.fmax(_entropy(g.px), _entropy(g.py))
    return g.average(np.where(div != 0, (g.hxy - g.hxy1) / np.where(div != 0, div, 1.0), 0.0))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_imc2(m: MassRegion) -> float:
    """GLCM second information measure of correlation (mutual information).

    Formula: ``sqrt(1 - exp(-2·(HXY2 - HXY)))``
    """
    g = m.glcm
    gap = g.hxy2 - g.hxy
    # HXY2 ≥ HXY in exact arithmetic; rounding may make it slightly negative (pyradiomics: 0 when equal).
    return g.average(np.where(gap == 0, 0.0, np.sqrt(np.clip(1.0 - np.exp(-2.0 * gap), 0.0, None))))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_contrast(m: MassRegion) -> float:
    """GLCM contrast.

    Formula: ``Σ (i-j)²·p(i,j)``
    """
    g = m.glcm
    return g.average(g.p_diff @ g.k_diff**2)


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_inverse_difference_moment(m: MassRegion) -> float:
    """GLCM inverse difference moment (homogeneity 2).

    Formula: ``Σ p(i,j) / (1 + (i-j)²)``
    """
    g = m.glcm
    return g.average(g.p_diff @ (1.0 / (1.0 + g.k_diff**2)))


@feature(category="texture", unit="unitless", invariances=EXACT_GRID)
def mass_glcm_cluster_shade(m: MassRegion) -> float:
    """GLCM cluster shade.

    Formula: ``Σ (i + j - μx - μy)³·p(i,j)``
    """
    g = m.glcm
    shade = g.k_sum[None] - g.ux[:, None] - g.uy[:, None]
    return g.average(np.sum(g.p_sum * shade**3, axis=1))
