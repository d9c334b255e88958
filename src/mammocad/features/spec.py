"""What a feature is: a :class:`FeatureSpec`, declared by the :func:`feature` decorator.

Every feature is one small function of a measured lesion, defined once, in the
module of its group, pyradiomics-style::

    @feature(category="shape", unit="unitless", invariances=GEOMETRIC + GAIN)
    def calc_circular_proportion(c: Calcifications) -> float:
        \"""Fraction of calcifications with circularity ≥ $CIRCULAR_THRESHOLD.

        Formula: ``#{i: circ_i ≥ $CIRCULAR_THRESHOLD} / n``
        \"""
        return float(np.mean(c.circularity >= CIRCULAR_THRESHOLD))

- the function's name is the feature table's column (``calc_*`` for the
  calcification group, ``mass_*`` for the mass group);
- the first paragraph of its docstring is the definition, the paragraph starting
  with ``Formula:`` the formula (in the notation of ``docs/features.md``);
- ``$NAME`` in the docstring is replaced by the value of the module constant
  ``NAME`` when the function is declared, so thresholds are written once, in code;
- the decorator records unit, category, invariances and feature set; the registry
  (:mod:`mammocad.features.registry`) collects the declared functions of the feature
  modules it imports. Nothing else lists features.
"""

from __future__ import annotations

import inspect
import math
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType
from typing import Any, Generic, TypeVar, overload

from mammocad.errors import FeatureError

__all__ = [
    "FeatureSpec",
    "feature",
    "features_of",
    "format_constant",
    "GROUPS",
    "GROUP_PREFIXES",
    "CATEGORIES",
    "INVARIANCES",
    "FEATURE_SET_NAMES",
    "GEOMETRIC",
    "GAIN",
    "EXACT_GRID",
    "cached",
]

#: Feature groups (what a feature is computed on) and the prefix of their features' names.
GROUP_PREFIXES: dict[str, str] = {"calcification": "calc_", "mass": "mass_"}
#: Feature groups, in table order.
GROUPS: tuple[str, ...] = tuple(GROUP_PREFIXES)
#: Kinds of measurement.
CATEGORIES = ("shape", "morphology", "intensity", "texture")
#: Transformations a feature may be invariant to. ``rotation90``: rotations by
#: multiples of 90° and flips (exact on the pixel grid); ``rotation``: arbitrary
#: angles (up to resampling); ``translation``; ``scale``: resampling the image with
#: the pixel spacing changed accordingly (up to resampling); ``gain``: a linear
#: change ``a·I + c`` (a > 0) of the grey values.
INVARIANCES = ("rotation90", "rotation", "translation", "scale", "gain")
#: Named feature sets, each containing the ones before it: ``paper`` is Wang et al.'s
#: 41 features (the default everywhere); ``extended`` adds features beyond the paper.
FEATURE_SET_NAMES = ("paper", "extended")

#: Shorthands for ``invariances=``: every geometric transformation, ...
GEOMETRIC: tuple[str, ...] = ("rotation90", "rotation", "translation", "scale")
#: ... a linear grey change, ...
GAIN: tuple[str, ...] = ("gain",)
#: ... and the transformations that are exact on the pixel grid (90° rotations, flips,
#: integer translations, a linear grey change).
EXACT_GRID: tuple[str, ...] = ("rotation90", "translation", "gain")

_SPEC = "__feature_spec__"
F = TypeVar("F", bound=Callable[..., float])
_T = TypeVar("_T")
_R = TypeVar("_R")


class cached(Generic[_T, _R]):  # noqa: N801 - used like the property decorator it stands for
    """``functools.cached_property`` without its lock (Python < 3.12 takes one per first access).

    For the quantities of a measured lesion that several features read: computed on first
    use, then kept in the instance (frozen dataclasses included).
    """

    def __init__(self, func: Callable[[_T], _R]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached[_T, _R]: ...

    @overload
    def __get__(self, obj: _T, owner: type | None = None) -> _R: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


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
        Definition in words (the first paragraph of the function's docstring).
    formula : str
        The formula, in the notation of ``docs/features.md``.
    unit : str
        ``"count"``, ``"mm"``, ``"mm²"``, ``"1/cm²"``, ``"grey"`` (grey levels of
        the 8-bit normalised image) or ``"unitless"``.
    invariances : tuple of str
        Transformations (see :data:`INVARIANCES`) the value is invariant to.
    empty_value : float
        The value reported when there is nothing to measure (no calcification, an
        empty mass mask).
    feature_set : {"paper", "extended"}
        The smallest feature set (:data:`FEATURE_SET_NAMES`) holding the feature.
    compute : callable or None
        The function computing it from a measured lesion (a
        :class:`~mammocad.features.calcification.Calcifications` or a
        :class:`~mammocad.features.mass.MassRegion`).
    """

    name: str
    group: str
    category: str
    definition: str
    formula: str
    unit: str
    invariances: tuple[str, ...]
    empty_value: float = 0.0
    feature_set: str = "paper"
    compute: Callable[[Any], float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefix = GROUP_PREFIXES.get(self.group)
        if prefix is None or not self.name.startswith(prefix):
            raise FeatureError(f"feature {self.name!r}: group {self.group!r} needs the prefix calc_/mass_")
        if self.category not in CATEGORIES:
            raise FeatureError(f"feature {self.name!r}: unknown category {self.category!r}")
        unknown = set(self.invariances) - set(INVARIANCES)
        if unknown:
            raise FeatureError(f"feature {self.name!r}: unknown invariances {sorted(unknown)}")
        if self.feature_set not in FEATURE_SET_NAMES:
            raise FeatureError(
                f"feature {self.name!r}: unknown feature set {self.feature_set!r}; "
                f"expected one of {', '.join(FEATURE_SET_NAMES)}"
            )


def feature(
    *,
    category: str,
    unit: str,
    invariances: Iterable[str],
    feature_set: str = "paper",
    empty_value: float = 0.0,
) -> Callable[[F], F]:
    """Declare the decorated function as a feature (see the module docstring).

    Parameters
    ----------
    category : {"shape", "morphology", "intensity", "texture"}
    unit : str
    invariances : iterable of str
        Transformations the value is invariant to (:data:`INVARIANCES`); the
        invariance tests check every declared one.
    feature_set : {"paper", "extended"}
        ``"extended"`` for every feature beyond the paper's 41.
    empty_value : float
        Value when there is nothing to measure.

    Returns
    -------
    callable
        A decorator returning the function itself, its ``$NAME`` placeholders
        replaced, with its :class:`FeatureSpec` attached.

    Raises
    ------
    FeatureError
        If the name has no group prefix, the docstring lacks a definition or a
        ``Formula:`` paragraph, a placeholder names no number of the module, or a
        field is not one of the allowed values.
    """

    def declare(func: F) -> F:
        name = func.__name__
        doc = _interpolate(inspect.cleandoc(func.__doc__ or ""), func.__globals__, name)
        definition, formula = _definition_and_formula(doc, name)
        group = next((g for g, prefix in GROUP_PREFIXES.items() if name.startswith(prefix)), "")
        spec = FeatureSpec(
            name=name,
            group=group,
            category=category,
            definition=definition,
            formula=formula,
            unit=unit,
            invariances=tuple(invariances),
            empty_value=float(empty_value),
            feature_set=feature_set,
            compute=func,
        )
        func.__doc__ = doc
        setattr(func, _SPEC, spec)
        return func

    return declare


def features_of(module: ModuleType) -> tuple[FeatureSpec, ...]:
    """The features declared with :func:`feature` in ``module``, in the order they are defined."""
    specs = []
    for value in vars(module).values():
        spec = getattr(value, _SPEC, None)
        if isinstance(spec, FeatureSpec) and getattr(value, "__module__", None) == module.__name__:
            specs.append(spec)
    return tuple(specs)


def format_constant(value: float) -> str:
    """A module constant as written in a formula: ``2``, ``0.8``, ``1/3``, ``0.123457``."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = repr(float(value))
    if len(text) <= 6:
        return text
    fraction = Fraction(value).limit_denominator(100)
    if float(fraction) == value:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:.6g}"


def _interpolate(doc: str, namespace: dict[str, Any], name: str) -> str:
    numbers = {
        key: format_constant(value)
        for key, value in namespace.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    try:
        return string.Template(doc).substitute(numbers)
    except (KeyError, ValueError) as exc:
        raise FeatureError(
            f"feature {name!r}: the docstring's placeholder {exc} names no number of its module"
        ) from None


def _definition_and_formula(doc: str, name: str) -> tuple[str, str]:
    paragraphs = [" ".join(line.strip() for line in p.splitlines()) for p in doc.split("\n\n")]
    formulas = [p.removeprefix("Formula:").strip() for p in paragraphs if p.startswith("Formula:")]
    if not paragraphs[0] or paragraphs[0].startswith("Formula:") or len(formulas) != 1:
        raise FeatureError(
            f"feature {name!r}: the docstring needs a definition, then one paragraph 'Formula: ``...``'"
        )
    formula = formulas[0]
    if formula.startswith("``") and formula.endswith("``"):
        formula = formula[2:-2]
    return paragraphs[0], formula
