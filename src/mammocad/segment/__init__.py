"""Segmentation: breast region, microcalcifications, mass contours, candidates, overlays.

Plain functions over 2-D grey arrays (inputs are never modified); physical sizes
come from ``pixel_spacing_mm``. See :func:`breast_mask`,
:func:`segment_calcifications`, :func:`segment_mass`, :func:`detect_candidates`,
:func:`render_overlay`, and :func:`segment_lesion`, which segments one lesion once
into the :class:`LesionSegmentation` that features, viewer and report read.
"""

from mammocad.segment.breast import BreastRegion, breast_mask, breast_region, chest_wall_side
from mammocad.segment.calcifications import (
    PROPERTY_COLUMNS,
    CalcificationSegmentation,
    Cluster,
    segment_calcifications,
)
from mammocad.segment.candidates import CANDIDATE_KINDS, Candidate, detect_candidates
from mammocad.segment.lesion import LesionSegmentation, segment_lesion
from mammocad.segment.mass import MASS_METHODS, MassSegmentation, mask_contour, segment_mass
from mammocad.segment.overlay import render_candidates, render_overlay

__all__ = [
    "breast_mask",
    "breast_region",
    "BreastRegion",
    "chest_wall_side",
    "segment_calcifications",
    "CalcificationSegmentation",
    "Cluster",
    "PROPERTY_COLUMNS",
    "segment_mass",
    "MassSegmentation",
    "MASS_METHODS",
    "mask_contour",
    "detect_candidates",
    "Candidate",
    "CANDIDATE_KINDS",
    "render_overlay",
    "render_candidates",
    "segment_lesion",
    "LesionSegmentation",
]
