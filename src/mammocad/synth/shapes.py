"""Shapes drawn on a super-sampled grid: exact coverage of every pixel.

A shape is evaluated at ``s × s`` sub-pixel centres per pixel; the fraction of
them inside is the pixel's *coverage*, and the mean of the shape's intensity over
them the pixel's *intensity*. :func:`union_render` paints several shapes on one
canvas so that a union (a mass and its spicules) is covered once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

#: ``inside_value(yy, xx) -> (inside, value)`` over sub-pixel coordinates.
InsideValue = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: ``(lo_y, hi_y, lo_x, hi_x)`` in image pixels.
Bounds = tuple[float, float, float, float]


def _subpixel_grid(r0: int, c0: int, h: int, w: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of the sub-pixel centres of a patch."""
    offsets = (np.arange(s, dtype=np.float32) + 0.5) / s - 0.5
    rows = (np.arange(r0, r0 + h, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
    cols = (np.arange(c0, c0 + w, dtype=np.float32)[:, None] + offsets[None, :]).reshape(-1)
    return rows[:, None], cols[None, :]


def _block_mean(values: np.ndarray, h: int, w: int, s: int) -> np.ndarray:
    return values.reshape(h, s, w, s).mean(axis=(1, 3), dtype=np.float32)


@dataclass(frozen=True)
class Radial:
    """A star-shaped blob: ellipse of radius ``r`` and aspect ``q`` with harmonics."""

    cy: float
    cx: float
    r: float
    q: float
    angle: float
    harmonics: tuple[tuple[int, float, float], ...]

    def extent(self) -> float:
        return self.r * (1.0 + sum(abs(a) for _, a, _ in self.harmonics))

    def evaluate(self, yy: np.ndarray, xx: np.ndarray, dome: float) -> tuple[np.ndarray, np.ndarray]:
        dy, dx = yy - self.cy, xx - self.cx
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        u = dx * ca + dy * sa
        v = (-dx * sa + dy * ca) / self.q
        rho = np.sqrt(u * u + v * v)
        theta = np.arctan2(v, u)
        boundary = np.full(theta.shape, self.r, dtype=np.float32)
        for k, amp, phase in self.harmonics:
            boundary += self.r * amp * np.cos(k * theta + phase)
        frac = rho / boundary
        inside = frac < 1.0
        value = np.where(inside, (1.0 - dome) + dome * np.sqrt(np.clip(1.0 - frac * frac, 0.0, 1.0)), 0.0)
        return inside, value.astype(np.float32)


@dataclass(frozen=True)
class Segment:
    """A capsule from ``p0`` to ``p1`` whose half-width tapers from ``w0`` to ``w1``."""

    y0: float
    x0: float
    y1: float
    x1: float
    w0: float
    w1: float

    def evaluate(self, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        vy, vx = self.y1 - self.y0, self.x1 - self.x0
        length2 = max(vy * vy + vx * vx, 1e-9)
        t = np.clip(((yy - self.y0) * vy + (xx - self.x0) * vx) / length2, 0.0, 1.0)
        dy = yy - (self.y0 + t * vy)
        dx = xx - (self.x0 + t * vx)
        return dy * dy + dx * dx < (self.w0 + (self.w1 - self.w0) * t) ** 2

    def bounds(self) -> Bounds:
        w = max(self.w0, self.w1)
        return (
            min(self.y0, self.y1) - w,
            max(self.y0, self.y1) + w,
            min(self.x0, self.x1) - w,
            max(self.x0, self.x1) + w,
        )


def _patch_bounds(
    lo_y: float, hi_y: float, lo_x: float, hi_x: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    r0 = max(int(math.floor(lo_y)) - 1, 0)
    r1 = min(int(math.ceil(hi_y)) + 2, shape[0])
    c0 = max(int(math.floor(lo_x)) - 1, 0)
    c1 = min(int(math.ceil(hi_x)) + 2, shape[1])
    return r0, r1, c0, c1


def union_render(
    shape: tuple[int, ...], s: int, parts: Sequence[tuple[Bounds, InsideValue]]
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Exact coverage of a union of shapes, painted on one super-sampled canvas.

    Each part is evaluated only over its own bounding box; the canvas keeps the
    union of the insides and the maximum of the intensities.

    Returns
    -------
    (window, coverage, intensity) or None
        The image window of the union and, over it, each pixel's coverage and
        mean intensity; None when the union lies outside an image of ``shape``.
    """
    lo_y = min(b[0] for b, _ in parts)
    hi_y = max(b[1] for b, _ in parts)
    lo_x = min(b[2] for b, _ in parts)
    hi_x = max(b[3] for b, _ in parts)
    r0, r1, c0, c1 = _patch_bounds(lo_y, hi_y, lo_x, hi_x, shape)
    if r1 <= r0 or c1 <= c0:
        return None
    h, w = r1 - r0, c1 - c0
    inside_canvas = np.zeros((h * s, w * s), dtype=bool)
    value_canvas = np.zeros((h * s, w * s), dtype=np.float32)
    for bounds, inside_value in parts:
        pr0, pr1, pc0, pc1 = _patch_bounds(*bounds, shape)
        pr0, pr1, pc0, pc1 = max(pr0, r0), min(pr1, r1), max(pc0, c0), min(pc1, c1)
        if pr1 <= pr0 or pc1 <= pc0:
            continue
        yy, xx = _subpixel_grid(pr0, pc0, pr1 - pr0, pc1 - pc0, s)
        inside, value = inside_value(yy, xx)
        region = (slice((pr0 - r0) * s, (pr1 - r0) * s), slice((pc0 - c0) * s, (pc1 - c0) * s))
        inside_canvas[region] |= inside
        np.maximum(value_canvas[region], value, out=value_canvas[region])
    coverage = _block_mean(inside_canvas.astype(np.float32), h, w, s)
    intensity = _block_mean(value_canvas, h, w, s)
    return (slice(r0, r1), slice(c0, c1)), coverage, intensity


def single_component(mask: np.ndarray) -> bool:
    """Whether ``mask`` is one 8-connected object."""
    _, n = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    return n == 1


def enclosing_circle(mask: np.ndarray) -> tuple[float, float, float]:
    """Centre ``(x, y)`` and radius of a circle enclosing every pixel (square) of ``mask``."""
    rows, cols = np.nonzero(mask)
    cy = 0.5 * (rows.min() + rows.max())
    cx = 0.5 * (cols.min() + cols.max())
    radius = float(np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2).max()) + math.sqrt(0.5)
    return float(cx), float(cy), radius
