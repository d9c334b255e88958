"""Segmentation: breast region, microcalcifications, mass contours, candidates, overlays.

Plain functions over 2-D grey arrays (inputs are never modified); physical sizes
come from ``pixel_spacing_mm``. See :func:`breast_mask`,
:func:`segment_calcifications`, :func:`segment_mass`, :func:`detect_candidates`
and :func:`render_overlay`.
"""

from mammocad.segment.breast import breast_mask, chest_wall_side
from mammocad.segment.calcifications import (
    PROPERTY_COLUMNS,
    CalcificationSegmentation,
    Cluster,
    segment_calcifications,
)
from mammocad.segment.candidates import CANDIDATE_KINDS, Candidate, detect_candidates
from mammocad.segment.mass import MASS_METHODS, MassSegmentation, mask_contour, segment_mass
from mammocad.segment.outputs import (
    SEGMENT_TYPES,
    MammogramSegmentation,
    segment_mammogram,
    write_segmentation,
)
from mammocad.segment.overlay import render_overlay

__all__ = [
    "breast_mask",
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
    "segment_mammogram",
    "write_segmentation",
    "MammogramSegmentation",
    "SEGMENT_TYPES",
]
