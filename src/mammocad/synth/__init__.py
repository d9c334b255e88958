"""Synthetic mammograms with exact ground truth.

:func:`make_case` draws one mammogram — a breast against a dark background, with
parenchymal texture, and microcalcification clusters and/or a mass — together with
the exact mask of everything that was drawn. :func:`make_cohort` writes a folder
of such cases with a lesion table, the default data of ``mammocad demo`` and the
yardstick of segmentation accuracy.

How an image is made
--------------------
1. **Breast.** A half-ellipse against the chest wall (rotated and drooping on MLO),
   with a slightly wavy skin line. Compressed-breast thickness falls off towards
   the skin over a band of about 15 % of the breast depth (a circular-arc
   profile), the skin itself is a thin brighter line, and on MLO a pectoral
   muscle triangle with a convex edge sits in the upper chest-wall corner.
2. **Parenchyma.** Gaussian random fields with a power-law spectrum
   ``P(f) ∝ f^-β`` (β = 3, the exponent measured on real mammograms): one,
   passed through a soft threshold that rises towards the breast centre,
   decides where fibroglandular tissue lies (``density`` 0 = fatty … 1 = extremely
   dense); others modulate the grey level everywhere. Fibrous septa around
   5–9 mm fat lobules are the zero set of a band-limited field, and ducts and
   strands converging on the nipple are added as thin blurred curves.
3. **Lesions**, each defined as a shape evaluated on a super-sampled grid
   (8×8 sub-pixels per pixel for calcifications, 4×4 for masses). The fraction of
   a pixel a shape covers is its *coverage*: the ground-truth mask is
   ``coverage >= 0.5`` and the grey level added is the contrast times the
   coverage-weighted intensity, so the mask is exactly what was drawn.

   - Calcifications, 0.1–1 mm (never thinner than 1.5 pixels, so that each one
     owns at least one pixel). *Benign-like* clusters: 3–8 round, nearly equal,
     larger (0.4–0.9 mm) calcifications spread sparsely over a 3–6 mm disc.
     *Malignant-like* clusters: 8–30 pleomorphic, fine linear and branching
     calcifications of variable size (0.1–0.7 mm) packed along a branching duct
     a few millimetres long.
   - Masses, 3–8 mm in radius. *Benign*: circumscribed smooth oval with a
     sharp-ish margin. *Malignant*: irregular outline with either spicules
     (8–16 clearly visible tapering lines radiating from inside the core to
     1.6–2.4 core radii, as dense as the core at their base and about half as
     dense at their tip; part of the mask; core and spicules are one union on one
     super-sampled canvas) or an ill-defined margin (the drawn intensity is
     blurred by 0.7–1.5 mm; the mask stays the half-maximum outline). The tissue
     under a mass is blended towards its local mean (a mass is a compact,
     homogeneous density) and a smooth dome of density is added.
     :func:`~mammocad.synth.lesions.draw_mass` draws one mass of a chosen margin
     at a chosen place (e.g. into a real film).
4. **Acquisition.** Everything is blurred by a Gaussian point-spread function
   (``psf_sigma_mm``), quantum-like noise whose standard deviation grows with the
   grey level is added (``noise``), and the image is quantised to 8 bits. A film
   label (a bright card with dark glyphs) may sit in the background.

Difficulty
----------
``calc_contrast`` (default 30 grey levels) and ``mass_contrast`` (default 20 grey
levels) are the peak grey-level increments of a fully covered calcification pixel
and of a mass centre over the tissue underneath, before blurring and noise; each
lesion draws its own contrast from ``U(0.7, 1.3)`` times the default. ``noise``
(default 2.5 grey levels) is the noise standard deviation at mid-grey.

Orientation
-----------
As on the mini-MIAS films, a left breast (``laterality="L"``) has its chest wall
at the right image edge and the nipple pointing left; a right breast the mirror
image.

Modules
-------
One module per concern:

- :mod:`~mammocad.synth.shapes` — shapes on a super-sampled grid (exact coverage);
- :mod:`~mammocad.synth.anatomy` — breast outline, pectoral muscle, parenchyma, film label;
- :mod:`~mammocad.synth.lesions` — calcification clusters and masses;
- :mod:`~mammocad.synth.case` — :func:`make_case`: one image, the steps above in order;
- :mod:`~mammocad.synth.cohort` — :func:`make_cohort` (a folder with a lesion table)
  and :func:`contact_sheet`.
"""

from mammocad.datasets.table import PATHOLOGIES
from mammocad.synth.case import (
    CASE_ABNORMALITIES,
    CASE_VIEWS,
    DEFAULT_CALC_CONTRAST,
    DEFAULT_MASS_CONTRAST,
    DEFAULT_NOISE,
    DEFAULT_PSF_SIGMA_MM,
    SyntheticCase,
    SyntheticLesion,
    make_case,
)
from mammocad.synth.cohort import contact_sheet, make_cohort

__all__ = [
    "SyntheticLesion",
    "SyntheticCase",
    "make_case",
    "make_cohort",
    "contact_sheet",
    "CASE_ABNORMALITIES",
    "CASE_VIEWS",
    "PATHOLOGIES",
    "DEFAULT_CALC_CONTRAST",
    "DEFAULT_MASS_CONTRAST",
    "DEFAULT_NOISE",
    "DEFAULT_PSF_SIGMA_MM",
]
