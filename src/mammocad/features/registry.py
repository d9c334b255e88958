"""The feature registry: every named, defined and documented lesion feature, and their sets.

Wang et al. (2016) list their 15 microcalcification and 26 mass features by name
only. Each one is defined once, pyradiomics-style, as a function declared with
:func:`~mammocad.features.spec.feature` in the module of its group (its name, its
definition and formula in its docstring, unit, category and invariances in the
decorator). This module collects the declared functions of :data:`FEATURE_MODULES`,
orders them into the feature table's columns, groups them into feature sets and the
paper's scenarios, computes them (:func:`calcification_features`,
:func:`mass_features`) and documents them: ``docs/features.md`` is generated from it
(``python -m mammocad.features --markdown``).

Feature sets: ``"paper"`` is the paper's 41 features and the default everywhere;
``"extended"`` is the paper's 41 plus the features declared with
``feature_set="extended"`` (see ``docs/features-readme.md`` for how to add one).
The table's columns are the paper's 41 in their order, then the extended ones.
"""

from __future__ import annotations

import argparse
import re
import sys
from types import ModuleType
from typing import Any

import numpy as np

from mammocad.errors import FeatureError
from mammocad.features import calcification, margin, mass, texture
from mammocad.features.calcification import Calcifications
from mammocad.features.mass import MassRegion
from mammocad.features.spec import (
    CATEGORIES,
    FEATURE_SET_NAMES,
    GROUPS,
    INVARIANCES,
    FeatureSpec,
    features_of,
    format_constant,
)
from mammocad.io import ROI
from mammocad.segment._hull import cluster_hull

__all__ = [
    "FeatureSpec",
    "FEATURE_MODULES",
    "FEATURES",
    "CALCIFICATION_FEATURES",
    "MASS_FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SETS",
    "SCENARIOS",
    "GROUPS",
    "CATEGORIES",
    "INVARIANCES",
    "feature_names",
    "feature_specs",
    "feature_spec",
    "scenario_columns",
    "scenarios",
    "calcification_features",
    "mass_features",
    "registry_markdown",
    "registry_text",
]

#: The modules whose :func:`~mammocad.features.spec.feature` functions make up the registry.
FEATURE_MODULES: tuple[ModuleType, ...] = (calcification, mass, texture, margin)


def _collect(modules: tuple[ModuleType, ...]) -> tuple[FeatureSpec, ...]:
    """Every declared feature, in table order: by feature set, then group, then definition order."""
    specs = [spec for module in modules for spec in features_of(module)]
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise FeatureError(f"feature(s) declared twice: {', '.join(twice)}")
    return tuple(sorted(specs, key=lambda s: (FEATURE_SET_NAMES.index(s.feature_set), GROUPS.index(s.group))))


def _index(specs: tuple[FeatureSpec, ...]) -> dict[tuple[str, str | None], tuple[FeatureSpec, ...]]:
    """The specs of each (feature set, group) in table order; group None = both groups."""
    index: dict[tuple[str, str | None], tuple[FeatureSpec, ...]] = {}
    for rank, name in enumerate(FEATURE_SET_NAMES):
        in_set = tuple(f for f in specs if FEATURE_SET_NAMES.index(f.feature_set) <= rank)
        index[name, None] = in_set
        for group in GROUPS:
            index[name, group] = tuple(f for f in in_set if f.group == group)
    return index


_INDEX = _index(_collect(FEATURE_MODULES))
_LARGEST = FEATURE_SET_NAMES[-1]  # holds every registered feature

#: The paper's 41 features in table order: 15 calcification features, then 26 mass features.
FEATURES: tuple[FeatureSpec, ...] = _INDEX["paper", None]
#: Column names of the paper's 15 microcalcification features.
CALCIFICATION_FEATURES: tuple[str, ...] = tuple(f.name for f in _INDEX["paper", "calcification"])
#: Column names of the paper's 26 mass features.
MASS_FEATURES: tuple[str, ...] = tuple(f.name for f in _INDEX["paper", "mass"])
#: Column names of the paper's 41 features, in table order.
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
#: Column names of each feature set, in table order (``"extended"`` starts with the paper's 41).
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in _INDEX[name, None]) for name in FEATURE_SET_NAMES
}
#: The paper's three scenarios as column subsets of the feature table (the ``"paper"`` set).
SCENARIOS: dict[str, list[str]] = {
    "calcification": list(CALCIFICATION_FEATURES),
    "mass": list(MASS_FEATURES),
    "combined": list(FEATURE_NAMES),
}
_SCENARIO_GROUPS: dict[str, str | None] = {"calcification": "calcification", "mass": "mass", "combined": None}


def _check_set(feature_set: str) -> str:
    if not isinstance(feature_set, str) or feature_set not in FEATURE_SET_NAMES:
        raise FeatureError(
            f"unknown feature set {feature_set!r}; expected one of {', '.join(FEATURE_SET_NAMES)}"
        )
    return feature_set


def feature_specs(feature_set: str = "paper", group: str | None = None) -> tuple[FeatureSpec, ...]:
    """The :class:`FeatureSpec` of every feature of a set (and group), in table order.

    Parameters
    ----------
    feature_set : {"paper", "extended"}
    group : {"calcification", "mass"} or None
        None for both groups.

    Raises
    ------
    FeatureError
        If the set or the group is unknown.
    """
    if group is not None and group not in GROUPS:
        raise FeatureError(f"unknown feature group {group!r}; expected one of {', '.join(GROUPS)}")
    return _INDEX[_check_set(feature_set), group]


def feature_names(feature_set: str = "paper") -> list[str]:
    """Column names of a feature set, in table order.

    Examples
    --------
    >>> feature_names()[:2], len(feature_names("paper"))
    (['calc_count', 'calc_mean_diameter_mm'], 41)
    """
    return [f.name for f in _INDEX[_check_set(feature_set), None]]


def scenario_columns(name: str, feature_set: str = "paper") -> list[str]:
    """Feature columns of one of the paper's scenarios, in a feature set.

    Parameters
    ----------
    name : {"calcification", "mass", "combined"}
    feature_set : {"paper", "extended"}
        ``"paper"``: the paper's 15, 26 or 41 columns; ``"extended"``: those plus
        the extended features of the scenario's group(s).

    Returns
    -------
    list of str
        Column names, in table order.

    Raises
    ------
    FeatureError
        If ``name`` is not a scenario or ``feature_set`` not a feature set.

    Examples
    --------
    >>> len(scenario_columns("combined"))
    41
    """
    try:
        group = _SCENARIO_GROUPS[name]
    except (KeyError, TypeError):
        raise FeatureError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}") from None
    return [f.name for f in _INDEX[_check_set(feature_set), group]]


def scenarios(feature_set: str = "paper") -> dict[str, list[str]]:
    """The paper's three scenarios and their columns in a feature set (:func:`scenario_columns`).

    Examples
    --------
    >>> {name: len(columns) for name, columns in scenarios().items()}
    {'calcification': 15, 'mass': 26, 'combined': 41}
    """
    return {name: scenario_columns(name, feature_set) for name in SCENARIOS}


def feature_spec(name: str) -> FeatureSpec:
    """The :class:`FeatureSpec` registered under ``name``, in any set (FeatureError if none)."""
    for spec in _INDEX[_LARGEST, None]:
        if spec.name == name:
            return spec
    raise FeatureError(f"unknown feature {name!r}")


def _evaluate(specs: tuple[FeatureSpec, ...], lesion: Any) -> dict[str, float]:
    if lesion is None:
        return {f.name: f.empty_value for f in specs}
    # Every registered spec was made by @feature, so has its function.
    return {f.name: float(f.compute(lesion)) for f in specs}  # type: ignore[misc]


def calcification_features(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    pixel_spacing_mm: float,
    roi: ROI | None = None,
    feature_set: str = "paper",
) -> dict[str, float]:
    """The microcalcification features of the calcifications in ``labels``.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey values (bright = dense), e.g. the 8-bit normalised mammogram.
    labels : int or bool ndarray, same shape
        0 = background, one positive label per calcification. A boolean mask is
        split into 8-connected calcifications.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    roi : ROI, optional
        The cluster's region of interest; the background grey ``b`` is the median
        of the ROI disc outside the calcifications. Without it, ``b`` is taken in
        the calcifications' bounding box grown by
        :data:`~mammocad.features.calcification.BACKGROUND_MARGIN_PX` pixels.
    feature_set : {"paper", "extended"}
        Which features: the paper's 15, or those and the extended ones.

    Returns
    -------
    dict
        ``{name: value}`` for the calcification features of the set, in table
        order (for ``"paper"``: :data:`CALCIFICATION_FEATURES`). Each feature's
        empty value (0) when there is no calcification. Never NaN.

    Raises
    ------
    FeatureError
        If the shapes differ, the spacing is not positive, the grey values used
        are not finite, or the feature set is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20)); labels = np.zeros((20, 20), int)
    >>> labels[5:7, 5:7] = 1; labels[12:14, 10:13] = 2; image[labels > 0] = 200
    >>> f = calcification_features(image, labels, pixel_spacing_mm=0.1)
    >>> f["calc_count"], round(f["calc_mean_area_mm2"], 3)
    (2.0, 0.05)
    """
    specs = feature_specs(feature_set, "calcification")
    lesion = Calcifications.measure(image, labels, pixel_spacing_mm=pixel_spacing_mm, roi=roi)
    return _evaluate(specs, lesion)


def mass_features(
    image: np.ndarray, mask: np.ndarray, *, pixel_spacing_mm: float, feature_set: str = "paper"
) -> dict[str, float]:
    """The mass features of the region ``mask``.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey values (bright = dense), e.g. the 8-bit normalised mammogram.
    mask : bool ndarray, same shape
        The mass. Several connected components are measured together as one region.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    feature_set : {"paper", "extended"}
        Which features: the paper's 26, or those and the extended ones.

    Returns
    -------
    dict
        ``{name: value}`` for the mass features of the set, in table order (for
        ``"paper"``: :data:`MASS_FEATURES`). Each feature's empty value (0) for an
        empty mask. Never NaN.

    Raises
    ------
    FeatureError
        If the shapes differ, the mask is not boolean (or 0/1), the spacing is not
        positive, the grey values used are not finite, or the feature set is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:64, :64]
    >>> mask = (yy - 32) ** 2 + (xx - 32) ** 2 <= 15**2
    >>> image = np.where(mask, 180, 60).astype(np.uint8)
    >>> f = mass_features(image, mask, pixel_spacing_mm=0.2)
    >>> round(f["mass_axis_ratio"], 2), round(f["mass_grey_relativity"], 2)
    (1.0, 0.5)
    """
    specs = feature_specs(feature_set, "mass")
    lesion = MassRegion.measure(image, mask, pixel_spacing_mm=pixel_spacing_mm)
    return _evaluate(specs, lesion)


# --------------------------------------------------------------------------------------
# documentation


def _c(value: float) -> str:
    return format_constant(value)


def _notation() -> list[tuple[str, str]]:
    """Symbols of the formulas, with the code's constants."""
    return [
        (
            "s",
            "pixel spacing in mm; `A_i`, `P_i`: area and perimeter (pixels) of calcification `i`; "
            "`n`: number of calcifications; `A`, `P`: area and perimeter (pixels) of the mass.",
        ),
        ("I", "grey value (0-255 after `mammocad.io.normalise`)."),
        (
            "b",
            "background grey: the median grey of the ROI disc outside the calcifications (calcification "
            "features; without an ROI, of the calcifications' bounding box grown by "
            f"{_c(calcification.BACKGROUND_MARGIN_PX)} pixels) or the mean grey of the ring of width "
            f"max({_c(mass.MIN_RING_WIDTH_PX)} px, {_c(mass.RING_WIDTH_FRACTION)}·r_eq) around the mass "
            "(mass features; r_eq the radius of the disc of the mass's area); where there is no such "
            "pixel, the lesion's own mean grey.",
        ),
        (
            "H",
            "the cluster hull: the pixels whose centres lie in the convex hull of all calcification "
            f"pixels taken as unit squares (`{cluster_hull.__module__}.{cluster_hull.__name__}`; the "
            "segmentation's `Cluster.area_mm2` is the area of the same hull).",
        ),
        (
            "p(i, j)",
            "the normalised, symmetric grey-level co-occurrence matrix (GLCM) of one direction, "
            f"`N_g` = {_c(texture.GLCM_LEVELS)} grey levels; `p_x`, `p_y` its marginals, `μx`, `μy` their "
            "means, `p_{x+y}(k)`, `p_{x-y}(k)` the sums of `p` over `i + j = k` and `|i - j| = k`; `HX`, "
            "`HY`, `HXY`, `HXY1`, `HXY2` the entropies of Haralick (1973) in bits. Every GLCM feature is "
            "computed per direction (0°, 45°, 90°, 135°) and averaged.",
        ),
    ]


def _settings() -> list[str]:
    levels, ref = _c(texture.GLCM_LEVELS), _c(texture.GLCM_REFERENCE_SPACING_MM)
    return [
        "Invariances: `rotation90` = rotations by multiples of 90° and flips (exact on the pixel "
        "grid); `rotation` = arbitrary angles; `translation`; `scale` = resampling with the pixel "
        "spacing changed to match; `gain` = a linear change a·I + c (a > 0) of grey values. "
        "Tolerances under resampling are those tested in `tests/features/test_invariance.py`, which "
        "checks every invariance each feature declares.",
        "Features with nothing to measure (no calcification in the ROI, an empty mass mask) take "
        "their empty value, 0 for every feature here; a feature table never holds NaN.",
        f"GLCM settings (`mammocad.features.texture`): grey values inside the mass quantised to {levels} "
        "equal-width bins between the mask's own minimum and maximum (fixed bin count, so gain-invariant); "
        "symmetric matrices for the offsets (0, d), (-d, d), (-d, 0), (-d, -d) with d = 1 pixel at "
        f"{ref} mm spacing or coarser and round({ref} mm / spacing) on finer grids; only pixel pairs with "
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
        "Shape settings: `mass_area_mm2`, `mass_perimeter_mm` (regionprops `perimeter_crofton`), "
        "`mass_solidity`, `mass_elongation` (eccentricity) and `mass_axis_ratio` equal scikit-image "
        "`regionprops` of the mask (tests/features/test_mass.py). Calcification solidity, the hull used "
        "for convexity and the cluster hull `H` take pixels as unit squares, not as points, so one- and "
        "two-pixel objects have a defined hull.",
    ]


def _table(specs: tuple[FeatureSpec, ...]) -> list[str]:
    lines = [
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
    return lines


def registry_markdown() -> str:
    """The registry as a Markdown document (the content of ``docs/features.md``)."""
    paper = _INDEX["paper", None]
    extra = tuple(f for f in _INDEX["extended", None] if f.feature_set == "extended")
    lines = [
        "# mammocad features",
        "",
        "<!-- generated by `python -m mammocad.features --markdown`; do not edit -->",
        "",
        f"{len(paper)} features: {len(CALCIFICATION_FEATURES)} microcalcification features "
        f"(`calc_*`, the paper's first scenario) and {len(MASS_FEATURES)} mass features "
        "(`mass_*`, the second); the third scenario uses all of them.",
        "",
        "Wang et al. (2016) list their 15 microcalcification and 26 mass features by name only. Each "
        "one is defined here once, pyradiomics-style: a function named after its column, whose "
        "docstring holds the definition and the formula, declared with its unit, category and the "
        "geometric transformations it is invariant to (`mammocad.features.spec.feature`); the "
        "registry (`mammocad.features.registry`) collects them. The feature table's columns are "
        "these names in this order.",
        "",
        f"Feature sets: `paper` (these {len(paper)}, the default everywhere) and `extended` (the "
        f"paper's {len(paper)} and the features beyond the paper: "
        + (f"{len(extra)}, listed after the paper's" if extra else "none yet")
        + "). How to add a feature: `docs/features-readme.md`.",
        "",
        "## Notation",
        "",
    ]
    lines += [f"- `{symbol}`: {text}" for symbol, text in _notation()]
    for paragraph in _settings():
        lines += ["", paragraph]
    for group in GROUPS:
        specs = _INDEX["paper", group]
        lines += ["", f"## {group.capitalize()} features ({len(specs)})", "", *_table(specs)]
    for group in GROUPS:
        specs = tuple(f for f in _INDEX["extended", group] if f.feature_set == "extended")
        if specs:
            lines += ["", f"## Extended set: {group} features ({len(specs)})", "", *_table(specs)]
    return _rst_to_markdown("\n".join(lines) + "\n")


def registry_text() -> str:
    """The registry as plain text, one feature a line (for ``mammocad features --list``)."""
    specs = _INDEX[_LARGEST, None]
    width = max(len(f.name) for f in specs)
    lines = []
    for f in specs:
        marker = "" if f.feature_set == "paper" else f" [{f.feature_set}]"
        lines.append(f"{f.name:<{width}}  {f.category:<10}  {f.unit:<8}  {f.definition}{marker}")
        lines.append(f"{'':<{width}}  {'':<10}  {'':<8}  = {f.formula}")
    return "\n".join(lines) + "\n"


def _rst_to_markdown(text: str) -> str:
    text = re.sub(r":(?:func|mod|class|data):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mammocad.features", description="Print the feature registry."
    )
    parser.add_argument("--markdown", action="store_true", help="print docs/features.md")
    args = parser.parse_args(argv)
    sys.stdout.write(registry_markdown() if args.markdown else registry_text())
    return 0
