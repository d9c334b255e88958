"""The breast without lesions: outline, pectoral muscle, parenchyma, film label.

:func:`draw_anatomy` draws the breast and pectoral masks with the chest wall at
the left edge; :func:`parenchyma` fills the breast with grey levels;
:func:`place_film_label` finds a background corner for a label card. See
:mod:`mammocad.synth` for what is drawn and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage as ndi
from scipy.special import expit


def _power_law_field(
    rng: np.random.Generator, shape: tuple[int, int], beta: float, f_min: float
) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian field with spectrum ``P(f) ∝ f^-beta``.

    Frequencies below ``f_min`` (cycles per pixel) are flattened so that a single
    huge blob does not dominate the image.
    """
    fy = sp_fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = sp_fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    f = np.maximum(np.sqrt(fy * fy + fx * fx), np.float32(f_min))
    amplitude = f ** np.float32(-beta / 2.0)
    amplitude[0, 0] = 0.0
    noise = rng.standard_normal((2, *amplitude.shape), dtype=np.float32)
    spectrum = (noise[0] + 1j * noise[1]).astype(np.complex64) * amplitude
    field = sp_fft.irfft2(spectrum, s=shape, workers=1).astype(np.float32)
    field -= field.mean()
    field /= field.std() + np.float32(1e-12)
    return field


@dataclass(frozen=True)
class Anatomy:
    """The breast drawn with the chest wall at the left edge (x = 0)."""

    breast: np.ndarray
    pectoral: np.ndarray
    depth_px: np.ndarray  # distance to the skin line, pixels
    nipple: tuple[float, float]  # (y, x)
    depth_scale: float  # breast depth along its axis, pixels
    cy: float


def draw_anatomy(rng: np.random.Generator, size: int, view: str) -> Anatomy:
    """Breast and pectoral masks with the chest wall at the left edge (x = 0)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if view == "CC":
        cy = size * rng.uniform(0.46, 0.54)
        a = size * rng.uniform(0.58, 0.8)
        b = size * rng.uniform(0.36, 0.46)
        angle = math.radians(rng.uniform(-5.0, 5.0))
    else:
        cy = size * rng.uniform(0.4, 0.48)
        a = size * rng.uniform(0.62, 0.8)
        b = size * rng.uniform(0.5, 0.58)
        angle = math.radians(rng.uniform(8.0, 18.0))
    ca, sa = math.cos(angle), math.sin(angle)
    u = (xx * ca + (yy - cy) * sa) / a
    v = (-xx * sa + (yy - cy) * ca) / b
    theta = np.arctan2(v, u)
    wobble = np.zeros_like(theta)
    for k in range(2, 7):
        wobble += rng.normal(0.0, 0.012 / k**0.5) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    # A flatter front than an ellipse (compression paddle): exponent slightly above 2 on u.
    p = rng.uniform(2.0, 2.6)
    radius = (np.abs(u) ** p + np.abs(v) ** 2) ** (1.0 / 2.0)
    breast = (radius < 1.0 + wobble) & (xx >= 0)
    pectoral = np.zeros_like(breast)
    if view == "MLO":
        pw = size * rng.uniform(0.14, 0.28)
        ph = size * rng.uniform(0.35, 0.6)
        bulge = rng.uniform(0.2, 0.6)
        px, py = xx / pw, yy / ph
        pectoral = breast & (px + py - bulge * px * py < 1.0)
        # top of the image on MLO is axilla: keep the breast reaching the top edge
    # Distance to the skin at half resolution is ample for smooth profiles and margins.
    half = ndi.distance_transform_edt(breast[::2, ::2]).astype(np.float32) * 2.0
    depth = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)[:size, :size] * breast
    nipple_y = cy + a * sa
    nipple_x = a * ca
    return Anatomy(breast, pectoral, depth, (nipple_y, nipple_x), a, cy)


def _strands(
    rng: np.random.Generator, shape: tuple[int, int], anatomy: Anatomy, n: int, sigma_px: float
) -> np.ndarray:
    """Sum of thin curves converging on the nipple, peak height ≈ 1 each."""
    acc = np.zeros(shape, dtype=np.float32)
    ny, nx = anatomy.nipple
    step = 0.7
    inside = np.flatnonzero(anatomy.breast)
    starts = inside[rng.integers(inside.size, size=n)]
    for flat in starts:
        y0, x0 = float(flat // shape[1]), float(flat % shape[1])
        # Ducts and ligaments run roughly towards the nipple, wandering on the way.
        heading = math.atan2(ny - y0, nx - x0) + rng.normal(0.0, 0.35)
        if rng.random() < 0.5:
            heading += math.pi
        length = anatomy.depth_scale * rng.uniform(0.1, 0.45)
        k = max(int(length / step), 2)
        turns = heading + np.cumsum(rng.normal(0.0, 0.05, size=k))
        y = y0 + np.cumsum(np.sin(turns) * step)
        x = x0 + np.cumsum(np.cos(turns) * step)
        weight = rng.uniform(0.3, 1.0)
        iy = np.rint(y).astype(np.int64)
        ix = np.rint(x).astype(np.int64)
        ok = (iy >= 0) & (iy < shape[0]) & (ix >= 0) & (ix < shape[1])
        np.add.at(acc, (iy[ok], ix[ok]), np.float32(weight * step))
    acc = ndi.gaussian_filter(acc, sigma_px, truncate=3.0)
    return acc * np.float32(math.sqrt(2 * math.pi) * sigma_px)


def parenchyma(rng: np.random.Generator, anatomy: Anatomy, density: float, spacing_mm: float) -> np.ndarray:
    """Grey levels of the breast (without lesions), background 0.

    Fibroglandular tissue where a soft threshold of a power-law field (rising
    towards the breast centre) is exceeded, fibrous septa around fat lobules,
    strands converging on the nipple, the pectoral muscle, and the thickness
    fall-off and skin line at the edge.
    """
    size = anatomy.breast.shape[0]
    shape = anatomy.breast.shape
    gland_field = _power_law_field(rng, shape, 3.0, 2.0 / size)
    texture = _power_law_field(rng, shape, 3.0, 6.0 / size)
    fine = _power_law_field(rng, shape, 2.4, 24.0 / size)

    depth = anatomy.depth_px
    a = anatomy.depth_scale
    # Fibroglandular tissue sits centrally, behind a subcutaneous fat layer and in
    # front of the retromammary fat near the chest wall.
    xs = np.arange(shape[1], dtype=np.float32)[None, :]
    central = np.clip((depth - 0.04 * a) / (0.3 * a), 0.0, 1.0)
    retro = np.clip((xs - 0.03 * a) / (0.15 * a), 0.0, 1.0)
    envelope = central * retro
    offset = -1.6 + 3.4 * density
    gland = expit((gland_field + 2.5 * (envelope - 1.0) + offset) / 0.6)

    fat_level = rng.uniform(85.0, 110.0)
    gland_level = rng.uniform(165.0, 195.0)
    tissue = fat_level + (gland_level - fat_level) * gland
    tissue += (5.0 + 5.0 * gland) * texture + (2.0 + 3.0 * gland) * fine

    # Fibrous septa around fat lobules (Cooper's ligaments): the zero set of a
    # band-limited field is a network of closed curves a lobule (~5-10 mm) apart;
    # |F| / |grad F| is the distance to it, giving lines of even width.
    lobule_field = _power_law_field(rng, shape, 3.0, spacing_mm / rng.uniform(5.0, 9.0))
    gy, gx = np.gradient(lobule_field)
    distance = np.abs(lobule_field) / (np.sqrt(gy * gy + gx * gx) + np.float32(1e-6))
    septum_width = max(0.15 / spacing_mm, 0.7)
    septa = np.exp(-0.5 * (distance / septum_width) ** 2)
    tissue += rng.uniform(6.0, 12.0) * septa * (1.0 - 0.6 * gland)

    strand_sigma = max(0.2 / spacing_mm, 0.8)
    n_strands = int(rng.integers(80, 160))
    strands = _strands(rng, shape, anatomy, n_strands, strand_sigma)
    tissue += rng.uniform(10.0, 18.0) * strands * (1.0 - 0.4 * gland)
    tissue += rng.uniform(6.0, 12.0) * _strands(rng, shape, anatomy, n_strands // 4, 2.5 * strand_sigma)

    if anatomy.pectoral.any():
        rows, cols = np.nonzero(anatomy.pectoral)
        sigma = max(1.0, 0.6 / spacing_mm)
        pad = int(3 * sigma) + 1
        sl = (
            slice(0, min(int(rows.max()) + pad + 1, shape[0])),
            slice(0, min(int(cols.max()) + pad + 1, shape[1])),
        )
        # The muscle brightens towards the chest wall, with its own fibrous texture.
        xs_frac = np.clip(1.0 - xs[:, sl[1]] / max(float(cols.max()), 1.0), 0.0, 1.0)
        muscle = gland_level * rng.uniform(0.8, 0.95) + rng.uniform(10.0, 30.0) * xs_frac + 6.0 * texture[sl]
        # Breast tissue overlapping the muscle still shows through a little.
        soft = ndi.gaussian_filter(anatomy.pectoral[sl].astype(np.float32), sigma, truncate=3.0)
        soft *= np.float32(rng.uniform(0.75, 0.9))
        tissue[sl] = tissue[sl] * (1.0 - soft) + muscle * soft

    falloff = max(0.15 * a, 5.0)
    rel = np.clip(depth / falloff, 0.0, 1.0)
    thickness = np.sqrt(1.0 - (1.0 - rel) ** 2)
    skin = 14.0 * np.exp(-depth / max(0.8 / spacing_mm, 1.0)) * anatomy.breast
    return (tissue * thickness + skin) * anatomy.breast


def place_film_label(
    rng: np.random.Generator, breast: np.ndarray
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """A bright card with dark glyphs in a background corner, or None if none fits."""
    size = breast.shape[0]
    h = int(size * rng.uniform(0.07, 0.12))
    w = int(size * rng.uniform(0.09, 0.16))
    margin = int(size * 0.02)
    corners = [(margin, size - w - margin), (size - h - margin, size - w - margin)]
    order = rng.permutation(len(corners))
    clearance = int(size * 0.03)
    for idx in order:
        r0, c0 = corners[idx]
        r0 += int(rng.integers(0, margin + 1))
        c0 -= int(rng.integers(0, 3 * margin + 1))
        rs = slice(max(r0 - clearance, 0), min(r0 + h + clearance, size))
        cs = slice(max(c0 - clearance, 0), min(c0 + w + clearance, size))
        if breast[rs, cs].any():
            continue
        card = np.full((h, w), rng.uniform(200.0, 240.0), dtype=np.float32)
        lines = int(rng.integers(2, 4))
        glyph_h = max(h // (2 * lines + 1), 2)
        glyph_w = max(int(glyph_h * 0.6), 1)
        for line in range(lines):
            top = glyph_h * (2 * line + 1)
            col = max(w // 10, 1)
            while col + glyph_w < w - w // 10:
                if rng.random() < 0.8:
                    card[top : top + glyph_h, col : col + glyph_w] = rng.uniform(20.0, 60.0)
                col += glyph_w + max(glyph_h // 3, 1)
        return (slice(r0, r0 + h), slice(c0, c0 + w)), card
    return None
