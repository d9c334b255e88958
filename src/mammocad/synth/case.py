"""One synthetic mammogram and its ground truth: :func:`make_case`.

The steps, each a function below: the breast (:mod:`~mammocad.synth.anatomy`),
where lesions may lie, the lesions (:mod:`~mammocad.synth.lesions`), the film
label and the acquisition (blur, noise, 8 bits), and last the laterality (a left
breast is the mirror image of the drawing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mammocad.datasets.table import PATHOLOGIES
from mammocad.errors import SynthesisError
from mammocad.io import ROI, Mammogram
from mammocad.synth.anatomy import Anatomy, draw_anatomy, parenchyma, place_film_label
from mammocad.synth.lesions import DrawnMass, blend_under, draw_lesion
from mammocad.synth.shapes import enclosing_circle

#: Values of :func:`make_case`'s ``abnormality``: what one case can hold
#: (``"both"`` is one mass and one calcification cluster). A lesion table's
#: ``abnormality`` is one lesion's, :data:`mammocad.datasets.ABNORMALITIES`.
CASE_ABNORMALITIES: tuple[str, ...] = ("calcification", "mass", "both")
#: Views :func:`make_case` can draw.
CASE_VIEWS: tuple[str, ...] = ("CC", "MLO")

#: Peak grey-level increment of a fully covered calcification pixel (before PSF and noise).
DEFAULT_CALC_CONTRAST = 30.0
#: Grey-level increment at the centre of a mass over the tissue underneath.
DEFAULT_MASS_CONTRAST = 20.0
#: Standard deviation of the noise at mid-grey (grey levels).
DEFAULT_NOISE = 2.5
#: Standard deviation of the Gaussian point-spread function, in millimetres.
DEFAULT_PSF_SIGMA_MM = 0.05

_BACKGROUND_LEVEL = 6.0


# --------------------------------------------------------------------------------------
# values


@dataclass(frozen=True, eq=False)
class SyntheticLesion:
    """One drawn lesion and its exact ground truth.

    Parameters
    ----------
    lesion_id : str
        Unique identifier, ``"<case>_<k>"``.
    abnormality : {"calcification", "mass"}
        What was drawn.
    pathology : {"benign", "malignant"}
        Which appearance was imitated.
    x, y, radius : float
        Circle enclosing every pixel of the mask, in image pixels (origin top-left
        pixel centre, x right, y down).
    mask : ndarray of bool, image-shaped
        Union of the lesion's objects (pixels with ≥ 50 % coverage).
    labels : ndarray of int32, image-shaped
        One label per calcification (1 … n, 0 = background); for a mass the mask
        as 0/1.
    subtype : str
        ``"round"``, ``"pleomorphic"`` (calcifications), ``"circumscribed"``,
        ``"spiculated"`` or ``"ill-defined"`` (masses).
    contrast : float
        Grey-level contrast this lesion was drawn with.
    """

    lesion_id: str
    abnormality: str
    pathology: str
    x: float
    y: float
    radius: float
    mask: np.ndarray
    labels: np.ndarray
    subtype: str = ""
    contrast: float = float("nan")

    @property
    def roi(self) -> ROI:
        """The enclosing circle as an :class:`~mammocad.io.ROI`."""
        return ROI(self.x, self.y, self.radius)

    @property
    def count(self) -> int:
        """Number of objects: calcifications in a cluster, 1 for a mass."""
        return int(self.labels.max()) if self.labels.size else 0


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A synthetic mammogram and its ground truth.

    Parameters
    ----------
    mammogram : Mammogram
        ``uint8`` pixels, ``size`` × ``size``, ``pixel_spacing_mm``, laterality and
        view set; ``source`` is None.
    breast_mask : ndarray of bool
        The breast (pectoral muscle included), without background or film label.
    lesions : tuple of SyntheticLesion
        What was drawn, in drawing order.
    seed : int
        The seed that reproduces this case with :func:`make_case`.
    pectoral_mask : ndarray of bool
        The pectoral muscle (empty on CC).
    density : float
        Breast density used, 0 (fatty) … 1 (extremely dense).
    """

    mammogram: Mammogram
    breast_mask: np.ndarray
    lesions: tuple[SyntheticLesion, ...]
    seed: int
    pectoral_mask: np.ndarray | None = None
    density: float = float("nan")


# --------------------------------------------------------------------------------------
# validation


def _check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise SynthesisError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


def _check_number(name: str, value: object, *, low: float, high: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SynthesisError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < low or number > high:
        raise SynthesisError(f"{name} must be a finite number >= {low} and <= {high}, got {value!r}")
    return number


def check_seed(seed: object) -> int:
    """``seed`` as an int, or :class:`~mammocad.errors.SynthesisError` unless a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise SynthesisError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_rendering(
    size: object,
    pixel_spacing_mm: object,
    density: object,
    calc_contrast: object,
    mass_contrast: object,
    noise: object,
    psf_sigma_mm: object,
) -> tuple[int, float, float | None, float, float, float, float]:
    """Validated size, spacing, density and difficulty arguments of :func:`make_case`."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 256 <= int(size) <= 8192:
        raise SynthesisError(f"size must be an integer from 256 to 8192 pixels, got {size!r}")
    return (
        int(size),
        _check_number("pixel_spacing_mm", pixel_spacing_mm, low=0.02, high=0.5),
        None if density is None else _check_number("density", density, low=0.0, high=1.0),
        _check_number("calc_contrast", calc_contrast, low=0.0, high=255.0),
        _check_number("mass_contrast", mass_contrast, low=0.0, high=255.0),
        _check_number("noise", noise, low=0.0, high=100.0),
        _check_number("psf_sigma_mm", psf_sigma_mm, low=0.0, high=2.0),
    )


# --------------------------------------------------------------------------------------
# the case


def make_case(
    seed: int,
    *,
    abnormality: str = "calcification",
    pathology: str = "benign",
    size: int = 1024,
    pixel_spacing_mm: float = 0.1,
    view: str = "CC",
    laterality: str | None = None,
    density: float | None = None,
    calc_contrast: float = DEFAULT_CALC_CONTRAST,
    mass_contrast: float = DEFAULT_MASS_CONTRAST,
    noise: float = DEFAULT_NOISE,
    psf_sigma_mm: float = DEFAULT_PSF_SIGMA_MM,
    film_label: bool = True,
    case_id: str | None = None,
    lesion_kinds: Sequence[str] | None = None,
) -> SyntheticCase:
    """Draw one synthetic mammogram with exact lesion masks.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same arguments give the same pixels.
    abnormality : {"calcification", "mass", "both"}
        A microcalcification cluster, a mass, or one of each
        (:data:`CASE_ABNORMALITIES`).
    pathology : {"benign", "malignant"}
        Appearance imitated by every lesion of the case (see :mod:`mammocad.synth`).
    size : int
        Edge of the square image in pixels (≥ 256).
    pixel_spacing_mm : float
        Pixel edge in millimetres (0.02–0.5); lesion sizes are physical.
    view : {"CC", "MLO"}
        Projection; MLO adds a pectoral muscle.
    laterality : {"L", "R"} or None
        Which breast; None draws it from the seed. ``"L"`` has the chest wall at
        the right edge (as on mini-MIAS films).
    density : float or None
        Fibroglandular density from 0 (fatty) to 1 (extremely dense); None draws
        it from the seed.
    calc_contrast, mass_contrast : float
        Peak grey-level increment of a calcification / at a mass centre (each
        lesion scales its own by ``U(0.7, 1.3)``); defaults
        :data:`DEFAULT_CALC_CONTRAST`, :data:`DEFAULT_MASS_CONTRAST`.
    noise : float
        Noise standard deviation at mid-grey, in grey levels (grows with grey level).
    psf_sigma_mm : float
        Standard deviation of the Gaussian point-spread function, in millimetres.
    film_label : bool
        Whether to put a film label card in the background.
    case_id : str or None
        Prefix of the lesion ids; default ``"synth<seed>"``.
    lesion_kinds : sequence of {"calcification", "mass"}, optional
        The lesions to draw, in order, instead of ``abnormality``'s (several of a
        kind on one film, as in CBIS-DDSM); each keeps clear of the ones before.

    Returns
    -------
    SyntheticCase

    Raises
    ------
    SynthesisError
        If an argument is out of range, or the lesions do not fit in the breast
        (only for images far smaller than the lesions).

    Examples
    --------
    >>> case = make_case(3, abnormality="calcification", pathology="malignant", size=512)
    >>> case.mammogram.pixels.dtype, case.lesions[0].count >= 8
    (dtype('uint8'), True)
    """
    seed = check_seed(seed)
    abnormality = _check_choice("abnormality", abnormality, CASE_ABNORMALITIES)
    pathology = _check_choice("pathology", pathology, PATHOLOGIES)
    view = _check_choice("view", view, CASE_VIEWS)
    if laterality is not None:
        laterality = _check_choice("laterality", laterality, ("L", "R"))
    size, spacing, density, calc_contrast, mass_contrast, noise, psf_sigma_mm = check_rendering(
        size, pixel_spacing_mm, density, calc_contrast, mass_contrast, noise, psf_sigma_mm
    )
    case_id = f"synth{seed}" if case_id is None else str(case_id)

    # Every random draw comes from this one generator, in this order.
    rng = np.random.default_rng(seed)
    if laterality is None:
        laterality = "L" if rng.random() < 0.5 else "R"
    if density is None:
        density = float(rng.beta(2.0, 2.2))
    anatomy = draw_anatomy(rng, size, view)
    tissue = parenchyma(rng, anatomy, density, spacing)
    if lesion_kinds is not None:
        kinds = [_check_choice("lesion_kinds", kind, ("calcification", "mass")) for kind in lesion_kinds]
        if not kinds:
            raise SynthesisError("lesion_kinds: give at least one of calcification, mass")
    else:
        kinds = ["mass", "calcification"] if abnormality == "both" else [abnormality]
    contrasts = {"mass": mass_contrast, "calcification": calc_contrast}
    image, found = _draw_lesions(
        rng, tissue, _lesion_area(anatomy, spacing), kinds, pathology, spacing, contrasts
    )
    signal = image + np.float32(_BACKGROUND_LEVEL)
    if film_label:
        placed = place_film_label(rng, anatomy.breast)
        if placed is not None:
            sl, card = placed
            signal[sl] = card
    pixels = _acquire(rng, signal, spacing, psf_sigma_mm, noise)

    breast, pectoral = anatomy.breast, anatomy.pectoral
    if laterality == "L":  # drawn with the chest wall at the left; "L" puts it at the right
        pixels, breast, pectoral = pixels[:, ::-1].copy(), breast[:, ::-1].copy(), pectoral[:, ::-1].copy()
        found = [
            (kind, labels[:, ::-1].copy(), subtype, contrast) for kind, labels, subtype, contrast in found
        ]
    lesions = tuple(
        _lesion(f"{case_id}_{k}", kind, pathology, labels, subtype, contrast)
        for k, (kind, labels, subtype, contrast) in enumerate(found, start=1)
    )
    mammogram = Mammogram(pixels, pixel_spacing_mm=spacing, laterality=laterality, view=view, source=None)
    return SyntheticCase(mammogram, breast, lesions, seed, pectoral, float(density))


def _lesion_area(anatomy: Anatomy, spacing: float) -> np.ndarray:
    """Where lesions may lie: 3 mm (4 % of a small image) inside the skin, 2 mm off the pectoral muscle."""
    size = anatomy.breast.shape[0]
    px_per_mm = 1.0 / spacing
    allowed = anatomy.breast & ~anatomy.pectoral & (anatomy.depth_px > min(3.0 * px_per_mm, 0.04 * size))
    if anatomy.pectoral.any():
        grow = max(int(2 * px_per_mm), 1)
        rows, cols = np.nonzero(anatomy.pectoral)
        near = (
            slice(0, min(int(rows.max()) + grow + 2, size)),
            slice(0, min(int(cols.max()) + grow + 2, size)),
        )
        allowed[near] &= ~ndi.binary_dilation(anatomy.pectoral[near], iterations=grow)
    return allowed


def _draw_lesions(
    rng: np.random.Generator,
    tissue: np.ndarray,
    allowed: np.ndarray,
    kinds: Sequence[str],
    pathology: str,
    spacing: float,
    contrasts: dict[str, float],
) -> tuple[np.ndarray, list[tuple[str, np.ndarray, str, float]]]:
    """The image with the lesions, and (kind, labels, subtype, contrast) of each lesion.

    Raises :class:`~mammocad.errors.SynthesisError` if a lesion does not fit.
    """
    size = tissue.shape[0]
    px_per_mm = 1.0 / spacing
    image, allowed = tissue.copy(), allowed.copy()
    drawn_total = np.zeros(tissue.shape, dtype=np.float32)
    found: list[tuple[str, np.ndarray, str, float]] = []
    for kind in kinds:
        contrast = contrasts[kind] * rng.uniform(0.7, 1.3)
        result = draw_lesion(rng, kind, allowed, pathology, px_per_mm=px_per_mm, contrast=contrast)
        if result is None:
            raise SynthesisError(
                f"could not fit a {pathology} {kind} in a {size}x{size} image at {spacing} mm/pixel; "
                "use a larger size or a coarser pixel spacing"
            )
        if isinstance(result, DrawnMass):
            blend_under(image, result)
        drawn_total += result.drawn
        found.append((kind, result.labels, result.subtype, float(contrast)))
        # The next lesion keeps clear of this one's enclosing circle.
        x, y, radius = enclosing_circle(result.labels > 0)
        yy, xx = np.ogrid[0:size, 0:size]
        allowed &= (yy - y) ** 2 + (xx - x) ** 2 > (radius + min(2.0 * px_per_mm, 0.02 * size)) ** 2
    return image + drawn_total, found


def _acquire(
    rng: np.random.Generator, signal: np.ndarray, spacing: float, psf_sigma_mm: float, noise: float
) -> np.ndarray:
    """The detector: Gaussian blur, noise growing with the grey level, 8 bits."""
    sigma_px = psf_sigma_mm / spacing
    if sigma_px > 0.05:
        signal = ndi.gaussian_filter(signal, sigma_px)
    if noise > 0:
        std = noise * (0.4 + 1.2 * np.clip(signal, 0.0, 255.0) / 255.0)
        signal = signal + rng.standard_normal(signal.shape, dtype=np.float32) * std.astype(np.float32)
    return np.clip(np.rint(signal), 0, 255).astype(np.uint8)


def _lesion(
    lesion_id: str, kind: str, pathology: str, labels: np.ndarray, subtype: str, contrast: float
) -> SyntheticLesion:
    mask = labels > 0
    x, y, radius = enclosing_circle(mask)
    return SyntheticLesion(lesion_id, kind, pathology, x, y, radius, mask, labels, subtype, contrast)
