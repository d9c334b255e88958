"""The feature registry: the 41 named, defined and documented lesion features.

Wang et al. (2016) list their 15 microcalcification and 26 mass features by name
only. Each one is defined here once, pyradiomics-style: a stable column name, its
group and category, a one-line definition, the formula, the unit and the geometric
transformations it is invariant to. The feature table's columns are these names in
this order; ``docs/features.md`` is generated from this module
(``python -m mammocad.features --markdown``).

Notation used in the formulas
-----------------------------
``s``
    pixel spacing in mm; ``A_i``, ``P_i``: area and perimeter (pixels) of
    calcification ``i``; ``n``: number of calcifications.
``I``
    grey value (0-255 after :func:`mammocad.io.normalise`).
``b``
    background grey: the median grey of the ROI disc outside the calcifications
    (calcification features) or the mean grey of the ring around the mass (mass
    features); where there is no such pixel, the lesion's own mean grey.
``H``
    the pixels whose centres lie in the convex hull of all calcification pixels
    (taken as unit squares), plus the calcification pixels.
``p(i, j)``
    the normalised, symmetric grey-level co-occurrence matrix (GLCM) of one
    direction, ``N_g`` = 32 grey levels; ``p_x``, ``p_y`` its marginals,
    ``p_{x+y}(k)``, ``p_{x-y}(k)`` the sums of ``p`` over ``i + j = k`` and
    ``|i - j| = k``; ``HX``, ``HY``, ``HXY``, ``HXY1``, ``HXY2`` the entropies of
    Haralick (1973) in bits. Every GLCM feature is computed per direction (0°, 45°,
    90°, 135°) and averaged.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from mammocad.errors import FeatureError

__all__ = [
    "FeatureSpec",
    "FEATURES",
    "CALCIFICATION_FEATURES",
    "MASS_FEATURES",
    "FEATURE_NAMES",
    "SCENARIOS",
    "GROUPS",
    "CATEGORIES",
    "INVARIANCES",
    "scenario_columns",
    "feature_spec",
    "registry_markdown",
    "registry_text",
]

GROUPS = ("calcification", "mass")
CATEGORIES = ("shape", "morphology", "intensity", "texture")
#: Transformations a feature may be invariant to. ``rotation90``: rotations by
#: multiples of 90° and flips (exact on the pixel grid); ``rotation``: arbitrary
#: angles (up to resampling); ``translation``; ``scale``: resampling the image with
#: the pixel spacing changed accordingly (up to resampling); ``gain``: a linear
#: change ``a·I + c`` (a > 0) of the grey values.
INVARIANCES = ("rotation90", "rotation", "translation", "scale", "gain")

_GEOMETRIC = ("rotation90", "rotation", "translation", "scale")


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature.

    Parameters
    ----------
    name : str
        Column name in the feature table (``calc_*`` or ``mass_*``).
    group : {"calcification", "mass"}
        Which segmentation it is computed on.
    category : {"shape", "morphology", "intensity", "texture"}
        Kind of measurement.
    definition : str
        One-line definition in words.
    formula : str
        The formula, in the notation of :mod:`mammocad.features.registry`.
    unit : str
        ``"count"``, ``"mm"``, ``"mm²"``, ``"1/cm²"``, ``"grey"`` (grey levels of
        the 8-bit normalised image) or ``"unitless"``.
    invariances : tuple of str
        Transformations (see :data:`INVARIANCES`) the value is invariant to.
    empty_value : float
        The value reported when there is nothing to measure (no calcification, an
        empty mass mask).
    """

    name: str
    group: str
    category: str
    definition: str
    formula: str
    unit: str
    invariances: tuple[str, ...]
    empty_value: float = 0.0

    def __post_init__(self) -> None:
        prefix = {"calcification": "calc_", "mass": "mass_"}.get(self.group)
        if prefix is None or not self.name.startswith(prefix):
            raise FeatureError(f"feature {self.name!r}: group {self.group!r} needs the prefix calc_/mass_")
        if self.category not in CATEGORIES:
            raise FeatureError(f"feature {self.name!r}: unknown category {self.category!r}")
        unknown = set(self.invariances) - set(INVARIANCES)
        if unknown:
            raise FeatureError(f"feature {self.name!r}: unknown invariances {sorted(unknown)}")


def _calc(
    name: str, category: str, definition: str, formula: str, unit: str, inv: tuple[str, ...]
) -> FeatureSpec:
    return FeatureSpec(f"calc_{name}", "calcification", category, definition, formula, unit, inv)


def _mass(
    name: str, category: str, definition: str, formula: str, unit: str, inv: tuple[str, ...]
) -> FeatureSpec:
    return FeatureSpec(f"mass_{name}", "mass", category, definition, formula, unit, inv)


_GEO_GAIN = (*_GEOMETRIC, "gain")
# GLCM offsets are one pixel on the grid at the reference spacing (see texture.py):
# exact under 90° rotations, flips and translations, approximate under others.
_TEXTURE = ("rotation90", "translation", "gain")

_CALCIFICATION_SPECS = (
    _calc("count", "shape", "Number of calcifications segmented in the ROI.", "n", "count", _GEO_GAIN),
    _calc(
        "mean_diameter_mm",
        "shape",
        "Mean equivalent-circle diameter of the calcifications.",
        "mean_i 2·sqrt(A_i/π)·s",
        "mm",
        _GEO_GAIN,
    ),
    _calc(
        "mean_area_mm2",
        "morphology",
        "Mean area of one calcification (the mean, not the total).",
        "mean_i A_i·s²",
        "mm²",
        _GEO_GAIN,
    ),
    _calc(
        "density_per_cm2",
        "morphology",
        "Calcifications per cm² of the cluster's convex hull.",
        "n / (area(H)·s²/100)",
        "1/cm²",
        _GEO_GAIN,
    ),
    _calc(
        "mean_circularity",
        "shape",
        "Mean circularity (1 for a disc; perimeters by the 4-direction Crofton estimate), capped at 1.",
        "mean_i min(1, 4π·A_i/P_i²)",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "circular_proportion",
        "shape",
        "Fraction of calcifications with circularity ≥ 0.8.",
        "#{i: circ_i ≥ 0.8} / n",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "mean_solidity",
        "morphology",
        "Mean solidity of the calcifications: area over the area of the convex hull of their pixels "
        "taken as unit squares.",
        "mean_i A_i / A_hull,i",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "punctate_proportion",
        "morphology",
        "Fraction of sandy (punctate) calcifications: equivalent diameter < 0.5 mm.",
        "#{i: 2·sqrt(A_i/π)·s < 0.5} / n",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "linear_proportion",
        "morphology",
        "Fraction of linear calcifications: minor/major axis ratio ≤ 1/3 (axes from second moments of "
        "the pixels taken as unit squares, so one- and two-pixel objects have finite axes).",
        "#{i: b_i/a_i ≤ 1/3} / n",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "mean_spiculation",
        "morphology",
        "Mean normalised radial-length deviation of the calcification outlines (0 for a disc).",
        "mean_i std(d_i)/mean(d_i), d_i = distances from centroid to boundary pixels",
        "unitless",
        # Outlines of a few pixels change with the grid under arbitrary rotations (up to ~50%).
        ("rotation90", "translation", "scale", "gain"),
    ),
    _calc(
        "volume_ratio",
        "intensity",
        "Share of the cluster hull's excess brightness carried by the calcifications.",
        "Σ_{calc} max(I-b, 0) / Σ_H max(I-b, 0)",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "mean_grey",
        "intensity",
        "Mean grey value of the calcification pixels.",
        "mean_{calc} I",
        "grey",
        _GEOMETRIC,
    ),
    _calc(
        "cluster_spread_mm",
        "shape",
        "Root-mean-square distance of the calcification centroids from their mean (0 for one).",
        "sqrt(mean_i |c_i - c̄|²)·s",
        "mm",
        _GEO_GAIN,
    ),
    _calc(
        "area_cv",
        "morphology",
        "Coefficient of variation of the calcification areas (0 for fewer than two).",
        "std_i A_i / mean_i A_i",
        "unitless",
        _GEO_GAIN,
    ),
    _calc(
        "contrast",
        "intensity",
        "Mean grey of the calcifications above the ROI background.",
        "mean_{calc} I - b",
        "grey",
        _GEOMETRIC,
    ),
)

_MASS_SPECS = (
    _mass("area_mm2", "morphology", "Area of the mass.", "A·s²", "mm²", _GEO_GAIN),
    _mass(
        "perimeter_mm",
        "shape",
        "Perimeter of the mass outline (Crofton estimate over 4 directions, scikit-image).",
        "P·s",
        "mm",
        _GEO_GAIN,
    ),
    _mass(
        "circularity",
        "shape",
        "Circularity of the outline, capped at 1 (1 for a disc).",
        "min(1, 4π·A/P²)",
        "unitless",
        _GEO_GAIN,
    ),
    _mass("solidity", "morphology", "Area over convex-hull area.", "A / A_hull", "unitless", _GEO_GAIN),
    _mass(
        "elongation",
        "morphology",
        "Eccentricity of the ellipse with the same second moments (0 disc, →1 line).",
        "sqrt(1 - b²/a²)",
        "unitless",
        _GEO_GAIN,
    ),
    _mass(
        "axis_ratio",
        "morphology",
        "Minor over major axis of the ellipse with the same second moments (1 for a disc).",
        "b / a",
        "unitless",
        _GEO_GAIN,
    ),
    _mass(
        "convexity",
        "morphology",
        "Perimeter of the convex hull of the mass's pixels (as unit squares) over the perimeter of the "
        "mass, capped at 1 (1 convex, <1 lobulated).",
        "min(1, P_hull / P)",
        "unitless",
        _GEO_GAIN,
    ),
    _mass(
        "spiculation",
        "morphology",
        "Normalised radial-length deviation of the outline (0 for a disc; spiculated margins are high).",
        "std(d)/mean(d), d = distances from centroid to boundary pixels",
        "unitless",
        _GEO_GAIN,
    ),
    _mass(
        "heterogeneity",
        "intensity",
        "Coefficient of variation of the grey values inside the mass.",
        "std_{mass} I / mean_{mass} I",
        "unitless",
        _GEOMETRIC,
    ),
    _mass(
        "volume_ratio",
        "intensity",
        "Excess brightness over the surrounding ring relative to a flat-topped mass of the same peak.",
        "Σ_{mass} max(I-b, 0) / (A·(max I - b))",
        "unitless",
        _GEO_GAIN,
    ),
    _mass("mean_grey", "intensity", "Mean grey value inside the mass.", "mean_{mass} I", "grey", _GEOMETRIC),
    _mass("max_grey", "intensity", "Maximum grey value inside the mass.", "max_{mass} I", "grey", _GEOMETRIC),
    _mass(
        "grey_relativity",
        "intensity",
        "Mass against its surroundings: normalised difference of the mean grey of the mass and of the "
        "ring of width max(2 px, r_eq/2) around it.",
        "(mean_{mass} I - b) / (mean_{mass} I + b)",
        "unitless",
        _GEOMETRIC,
    ),
    _mass("glcm_entropy", "texture", "GLCM joint entropy.", "-Σ p(i,j)·log2 p(i,j)", "unitless", _TEXTURE),
    _mass(
        "glcm_inverse_difference",
        "texture",
        "GLCM inverse difference (homogeneity 1).",
        "Σ p(i,j) / (1 + |i-j|)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_difference_entropy",
        "texture",
        "GLCM difference entropy.",
        "-Σ_k p_{x-y}(k)·log2 p_{x-y}(k)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_correlation",
        "texture",
        "GLCM correlation (1 where a direction has a single grey level).",
        "(Σ i·j·p(i,j) - μx·μy) / (σx·σy)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_difference_variance",
        "texture",
        "GLCM difference variance.",
        "Σ_k (k - DA)²·p_{x-y}(k), DA = Σ_k k·p_{x-y}(k)",
        "unitless",
        _TEXTURE,
    ),
    _mass("glcm_sum_average", "texture", "GLCM sum average.", "SA = Σ_k k·p_{x+y}(k)", "unitless", _TEXTURE),
    _mass(
        "glcm_sum_variance",
        "texture",
        "GLCM sum variance, with the sum average as centre (Haralick's printed formula used the sum "
        "entropy; this is pyradiomics' cluster tendency).",
        "Σ_k (k - SA)²·p_{x+y}(k)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_energy", "texture", "GLCM energy (angular second moment).", "Σ p(i,j)²", "unitless", _TEXTURE
    ),
    _mass(
        "glcm_imc1",
        "texture",
        "GLCM first information measure of correlation (mutual information; 0 where HX = HY = 0).",
        "(HXY - HXY1) / max(HX, HY)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_imc2",
        "texture",
        "GLCM second information measure of correlation (mutual information).",
        "sqrt(1 - exp(-2·(HXY2 - HXY)))",
        "unitless",
        _TEXTURE,
    ),
    _mass("glcm_contrast", "texture", "GLCM contrast.", "Σ (i-j)²·p(i,j)", "unitless", _TEXTURE),
    _mass(
        "glcm_inverse_difference_moment",
        "texture",
        "GLCM inverse difference moment (homogeneity 2).",
        "Σ p(i,j) / (1 + (i-j)²)",
        "unitless",
        _TEXTURE,
    ),
    _mass(
        "glcm_cluster_shade",
        "texture",
        "GLCM cluster shade.",
        "Σ (i + j - μx - μy)³·p(i,j)",
        "unitless",
        _TEXTURE,
    ),
)

#: All 41 features in table order: 15 calcification features, then 26 mass features.
FEATURES: tuple[FeatureSpec, ...] = _CALCIFICATION_SPECS + _MASS_SPECS
#: Column names of the 15 microcalcification features.
CALCIFICATION_FEATURES: tuple[str, ...] = tuple(f.name for f in _CALCIFICATION_SPECS)
#: Column names of the 26 mass features.
MASS_FEATURES: tuple[str, ...] = tuple(f.name for f in _MASS_SPECS)
#: Column names of all 41 features, in table order.
FEATURE_NAMES: tuple[str, ...] = CALCIFICATION_FEATURES + MASS_FEATURES
#: The paper's three scenarios as column subsets of the feature table.
SCENARIOS: dict[str, list[str]] = {
    "calcification": list(CALCIFICATION_FEATURES),
    "mass": list(MASS_FEATURES),
    "combined": list(FEATURE_NAMES),
}

_BY_NAME = {f.name: f for f in FEATURES}


def scenario_columns(name: str) -> list[str]:
    """Feature columns of one of the paper's scenarios.

    Parameters
    ----------
    name : {"calcification", "mass", "combined"}

    Returns
    -------
    list of str
        15, 26 or 41 column names, in table order.

    Raises
    ------
    FeatureError
        If ``name`` is not a scenario.

    Examples
    --------
    >>> len(scenario_columns("combined"))
    41
    """
    try:
        return list(SCENARIOS[name])
    except (KeyError, TypeError):
        raise FeatureError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}") from None


def feature_spec(name: str) -> FeatureSpec:
    """The :class:`FeatureSpec` registered under ``name`` (FeatureError if none)."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise FeatureError(f"unknown feature {name!r}") from None


def registry_markdown() -> str:
    """The registry as a Markdown document (the content of ``docs/features.md``)."""
    head = (__doc__ or "").split("\n\n", 1)
    lines = [
        "# mammocad features",
        "",
        "<!-- generated by `python -m mammocad.features --markdown`; do not edit -->",
        "",
        f"{len(FEATURES)} features: {len(CALCIFICATION_FEATURES)} microcalcification features "
        f"(`calc_*`, the paper's first scenario) and {len(MASS_FEATURES)} mass features "
        "(`mass_*`, the second); the third scenario uses all of them.",
        "",
        head[1].split("Notation used in the formulas")[0].strip() if len(head) > 1 else "",
        "",
        "## Notation",
        "",
    ]
    notation = (__doc__ or "").split("-----------------------------", 1)[-1].strip().splitlines()
    term = None
    for line in notation:
        if line and not line.startswith(" "):
            term = line.strip()
            lines.append(f"- {term}:")
        elif term is not None:
            lines[-1] += " " + line.strip()
    lines += [
        "",
        "Invariances: `rotation90` = rotations by multiples of 90° and flips (exact on the pixel "
        "grid); `rotation` = arbitrary angles; `translation`; `scale` = resampling with the pixel "
        "spacing changed to match; `gain` = a linear change a·I + c (a > 0) of grey values. "
        "Tolerances under resampling are those tested in `tests/features/test_invariance.py`.",
        "",
        "Features with nothing to measure (no calcification in the ROI, an empty mass mask) are 0; "
        "a feature table never holds NaN.",
        "",
        "GLCM settings (`mammocad.features.texture`): grey values inside the mass quantised to 32 "
        "equal-width bins between the mask's own minimum and maximum (fixed bin count, so gain-invariant); "
        "symmetric matrices for the offsets (0, d), (-d, d), (-d, 0), (-d, -d) with d = 1 pixel at "
        "0.2 mm spacing or coarser and round(0.2 mm / spacing) on finer grids; only pixel pairs with "
        "both pixels in the mask; features per direction, averaged over the directions with at least one "
        "pair. At d = 1 this is pyradiomics' GLCM (force2D, symmetricalGLCM, no weighting, binWidth 1 on "
        "the quantised image) and the 13 texture features equal its JointEntropy, Id, DifferenceEntropy, "
        "Correlation, DifferenceVariance, SumAverage, ClusterTendency, JointEnergy, Imc1, Imc2, Contrast, "
        "Idm and ClusterShade to <= 1e-6 relative (tests/features/test_texture.py). Differences by "
        "definition: for d > 1 pyradiomics uses every offset at Chebyshev distance d (8 directions in 2-D) "
        "and scikit-image rounds diagonal offsets to Euclidean length, ours keeps the 4 principal "
        "directions (d, d); pyradiomics' own binning (binCount over the ROI) differs from ours in the "
        "edge rounding, so the comparison feeds it our quantised image; its SumVariance is removed in "
        "favour of ClusterTendency, which is our sum variance.",
        "",
        "Shape settings: `mass_area_mm2`, `mass_perimeter_mm` (regionprops `perimeter_crofton`), "
        "`mass_solidity`, `mass_elongation` (eccentricity) and `mass_axis_ratio` equal scikit-image "
        "`regionprops` of the mask (tests/features/test_mass.py). Calcification solidity and both "
        "convex hulls used for convexity and the cluster hull take pixels as unit squares, not as "
        "points, so one- and two-pixel objects have a defined hull.",
    ]
    for group in GROUPS:
        specs = [f for f in FEATURES if f.group == group]
        lines += [
            "",
            f"## {group.capitalize()} features ({len(specs)})",
            "",
            "| # | name | category | definition | formula | unit | invariant to |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, f in enumerate(specs, 1):
            formula = f.formula.replace("|", "\\|")
            definition = f.definition.replace("|", "\\|")
            lines.append(
                f"| {k} | `{f.name}` | {f.category} | {definition} | `{formula}` | {f.unit} | "
                f"{', '.join(f.invariances)} |"
            )
    return _rst_to_markdown("\n".join(lines) + "\n")


def registry_text() -> str:
    """The registry as plain text, one feature a line (for ``mammocad features --list``)."""
    width = max(len(f.name) for f in FEATURES)
    lines = []
    for f in FEATURES:
        lines.append(f"{f.name:<{width}}  {f.category:<10}  {f.unit:<8}  {f.definition}")
        lines.append(f"{'':<{width}}  {'':<10}  {'':<8}  = {f.formula}")
    return "\n".join(lines) + "\n"


def _rst_to_markdown(text: str) -> str:
    text = re.sub(r":(?:func|mod|class|data):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mammocad.features", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print docs/features.md")
    args = parser.parse_args(argv)
    sys.stdout.write(registry_markdown() if args.markdown else registry_text())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
