"""Automatic candidates on a whole mammogram (the "automatic detection" of Fig. 1).

Detection runs in three steps.

1. **Where to look.** :func:`~mammocad.segment.breast_region` gives the breast less
   the pectoral muscle, burnt-in markers, labels, film edges and hardware. Outside
   that region the image is replaced by the nearest breast pixel's grey level
   before any filter runs, so the skin line, the muscle's edge and the film edge
   give no response; candidates are proposed only with their centre inside it.
2. **Proposals.**

   Calcification clusters
       The multi-scale Laplacian-of-Gaussian spot filter of
       :func:`~mammocad.segment.segment_calcifications` over the whole breast (less
       a 1 mm rim at the skin line), in robust noise units, thresholded at
       ``k_calcification``; spots of calcification size (at most 1 mm across) are
       linked within ``cluster_distance_mm``, and a group of at least
       ``min_cluster_size`` no wider than 4 cm is a proposal. Its ROI encloses the
       group plus 2 mm (at least 5 mm in radius).
   Masses
       A scale-normalised Laplacian-of-Gaussian blob detector on a copy averaged
       to about 0.8 mm pixels, at mass radii of 3-25 mm; a weaker peak inside a
       stronger blob is dropped. The ROI is 1.5 times the blob's radius.

3. **Scores.** Each proposal is described by a few numbers (:data:`MASS_FEATURES`,
   :data:`CALCIFICATION_FEATURES`: contrast, size, shape, position in the breast,
   prominence in the film) and scored by the learned scorer of
   :mod:`mammocad.segment.scoring`: the score is its estimate of the probability
   that the proposal is a lesion of that kind. A proposal whose centre lies in a
   better-scored one's ROI of the same kind is dropped; the list is sorted best
   first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mammocad.errors import SegmentationError
from mammocad.io import ROI
from mammocad.segment._common import (
    as_float_image,
    blob_response,
    block_mean,
    check_spacing,
    robust_level,
)
from mammocad.segment.scoring import CandidateScorer

__all__ = [
    "Candidate",
    "Proposals",
    "detect_candidates",
    "propose_candidates",
    "rank_candidates",
    "suppress",
    "CANDIDATE_KINDS",
    "MASS_FEATURES",
    "CALCIFICATION_FEATURES",
]

CANDIDATE_KINDS = ("calcification", "mass")
_MASS_RADII_MM = (3.0, 4.5, 6.5, 9.0, 13.0, 18.0, 25.0)
_MASS_GRID_MM = 0.8
_MAX_MASS_PROPOSALS = 100
_MASS_PER_SCALE = 15
_CALC_SCALES_MM = (0.12, 0.2, 0.3)
_MAX_CLUSTERS = 40
_MIN_CALC_ROI_MM = 5.0
_MAX_SPOT_MM = 2.0  # coarse benign calcifications reach a few mm; larger spots are tissue
_SKIN_RIM_MM = 1.0

#: Features of a mass proposal, in the order of :attr:`Proposals.features`.
MASS_FEATURES = (
    "log_response",  # scale-normalised LoG peak, in robust grey-level spreads of the breast
    "log_radius_mm",  # log of the blob radius
    "contrast",  # mean in the disc minus mean in the ring out to 2 radii, in spreads
    "level",  # mean in the disc minus the breast's median, in spreads
    "level_rank",  # fraction of breast pixels darker than the disc's mean
    "depth",  # distance to the skin over the breast's largest, 0-1
    "log_depth_mm",  # log(1 + distance to the skin in mm)
    "isotropy",  # Hessian eigenvalue ratio at the blob's scale (1 round, 0 a ridge)
    "texture",  # standard deviation inside the disc, in spreads
    "convergence",  # mean cosine of the gradient with the inward radius, in the ring
    "prominence",  # response over the film's strongest mass response
    "log_rank",  # log(1 + rank of the response among the film's proposals)
    "inside",  # fraction of the disc inside the search region
    "blob_fill",  # area of the half-contrast region at the centre over the disc's
    "blob_eccentricity",  # eccentricity of that region
    "breast_spread",  # robust spread of the breast's grey levels over its median
    "smooth_response",  # the same LoG on the negated log fine-texture energy (smooth discs)
    "texture_ratio",  # log of the fine-texture energy inside the disc over the ring's
)

#: Features of a calcification-cluster proposal.
CALCIFICATION_FEATURES = (
    "log_spots",  # log of the number of spots
    "median_z",  # median spot-filter peak, in robust noise levels
    "max_z",  # strongest spot
    "top3_z",  # mean of the three strongest spots
    "log_reach_mm",  # log of the largest spot distance from the cluster centre (mm)
    "log_density",  # log of spots per cm² of the enclosing disc
    "mean_area_mm2",  # mean spot area
    "linearity",  # 1 - minor/major spread of the spot centres (1: on a line)
    "level_rank",  # fraction of breast pixels darker than the cluster's surroundings
    "depth",  # distance to the skin over the breast's largest, 0-1
    "log_depth_mm",  # log(1 + distance to the skin in mm)
    "sharpness",  # median peak of the image minus its 0.1 mm blur, in noise levels
    "log_crowding",  # log(1 + spots within 10 mm outside the cluster per cluster spot)
    "log_film_spots",  # log(1 + spots per cm² of breast, over the whole film)
    "log_rank",  # log(1 + rank of n_spots × median_z among the film's clusters)
)


@dataclass(frozen=True)
class Candidate:
    """A proposed lesion.

    Parameters
    ----------
    kind : {"calcification", "mass"}
        ``"calcification"`` for a cluster of microcalcifications.
    roi : ROI
        Circle enclosing it, in the image's pixels.
    score : float
        Confidence in [0, 1); higher is more suspicious (the learned scorer's
        estimate of the probability that it is a lesion of that kind).
    """

    kind: str
    roi: ROI
    score: float


@dataclass(frozen=True, eq=False)
class Proposals:
    """Unscored candidates of one kind and their features.

    Parameters
    ----------
    kind : {"calcification", "mass"}
    rois : tuple of ROI
        One circle per proposal, in the image's pixels.
    features : ndarray, shape (len(rois), len(names))
        Finite float64 features.
    names : tuple of str
        :data:`MASS_FEATURES` or :data:`CALCIFICATION_FEATURES`.
    """

    kind: str
    rois: tuple[ROI, ...]
    features: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.rois)


def detect_candidates(
    image: np.ndarray,
    *,
    pixel_spacing_mm: float,
    breast: np.ndarray | None = None,
    max_candidates: int = 10,
    kinds: tuple[str, ...] = CANDIDATE_KINDS,
    k_calcification: float = 4.5,
    cluster_distance_mm: float = 5.0,
    min_cluster_size: int = 3,
    view: str | None = None,
    laterality: str | None = None,
    min_score: float = 0.0,
    scorer: CandidateScorer | None = None,
) -> list[Candidate]:
    """Propose and rank calcification clusters and masses on a whole mammogram.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey mammogram, bright = dense. Not modified.
    pixel_spacing_mm : float
        Pixel edge in millimetres.
    breast : ndarray of bool, optional
        Where to search. When None it is found with
        :func:`mammocad.segment.breast_region` (``view`` and ``laterality``
        passed on): the breast less the pectoral muscle, markers, labels and
        film edges.
    max_candidates : int
        Longest list returned.
    kinds : tuple of str
        Which detectors to run.
    k_calcification : float
        Spot threshold, in robust noise levels of the spot filter.
    cluster_distance_mm, min_cluster_size :
        Spots closer than this are linked; a group of at least this many is a
        cluster proposal.
    view : str, optional
        ``"CC"`` or ``"MLO"`` where known (see :func:`breast_region`); unknown
        views are checked for a pectoral muscle.
    laterality : {"L", "R"}, optional
    min_score : float
        Drop candidates scored below this.
    scorer : CandidateScorer, optional
        How proposals are scored; default: the scorer shipped with mammocad
        (:func:`mammocad.segment.scoring.default_scorer`).

    Returns
    -------
    list of Candidate
        Best first; every centre inside the search region; empty for a blank image.

    Raises
    ------
    SegmentationError
        If the image is not a finite 2-D array, ``breast`` does not match it, the
        spacing is not positive or ``kinds`` names an unknown detector.

    Examples
    --------
    >>> from mammocad.synth import make_case
    >>> case = make_case(1, abnormality="mass", size=512, pixel_spacing_mm=0.2)
    >>> found = detect_candidates(case.mammogram.pixels, pixel_spacing_mm=0.2, view="CC")
    >>> all(0 <= c.score < 1 for c in found) and found == sorted(found, key=lambda c: -c.score)
    True
    """
    if max_candidates < 1:
        raise SegmentationError(f"max_candidates must be >= 1, got {max_candidates}")
    proposals = propose_candidates(
        image,
        pixel_spacing_mm=pixel_spacing_mm,
        breast=breast,
        kinds=kinds,
        k_calcification=k_calcification,
        cluster_distance_mm=cluster_distance_mm,
        min_cluster_size=min_cluster_size,
        view=view,
        laterality=laterality,
    )
    found = [c for c in rank_candidates(proposals, scorer=scorer) if c.score >= min_score]
    return found[:max_candidates]


def rank_candidates(
    proposals: dict[str, Proposals], *, scorer: CandidateScorer | None = None
) -> list[Candidate]:
    """Score proposals and rank them, best first (what :func:`detect_candidates` does after proposing).

    Parameters
    ----------
    proposals : dict
        Kind → :class:`Proposals`, as returned by :func:`propose_candidates`.
    scorer : CandidateScorer, optional
        Default: the scorer shipped with mammocad.

    Returns
    -------
    list of Candidate
        Every kind together, best first, duplicates dropped (see :func:`suppress`).
    """
    from mammocad.segment.scoring import default_scorer

    scorer = default_scorer() if scorer is None else scorer
    found: list[Candidate] = []
    for kind, prop in proposals.items():
        if len(prop):
            found += suppress(prop.rois, scorer.score(kind, prop.features, prop.names), kind)
    found.sort(key=lambda c: -c.score)
    return found


def suppress(rois: tuple[ROI, ...], scores: np.ndarray, kind: str) -> list[Candidate]:
    """Candidates best first, dropping the same finding seen twice.

    A proposal is dropped when a better-scored one's centre lies within the
    smaller of their two ROI radii (nearly concentric: the same blob or cluster);
    a small finding inside a large, better-scored ROI is kept. Scores are clipped
    into [0, 1).
    """
    top = math.nextafter(1.0, 0.0)
    kept: list[Candidate] = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        roi = rois[int(i)]
        if any(
            (roi.x - k.roi.x) ** 2 + (roi.y - k.roi.y) ** 2 < min(roi.radius, k.roi.radius) ** 2 for k in kept
        ):
            continue
        kept.append(Candidate(kind=kind, roi=roi, score=float(min(max(scores[int(i)], 0.0), top))))
    return kept


def propose_candidates(
    image: np.ndarray,
    *,
    pixel_spacing_mm: float,
    breast: np.ndarray | None = None,
    kinds: tuple[str, ...] = CANDIDATE_KINDS,
    k_calcification: float = 4.5,
    cluster_distance_mm: float = 5.0,
    min_cluster_size: int = 3,
    view: str | None = None,
    laterality: str | None = None,
) -> dict[str, Proposals]:
    """Unscored candidates and their features, per kind (see :func:`detect_candidates`).

    Returns
    -------
    dict
        Kind → :class:`Proposals` (possibly empty), for each kind asked for.
    """
    pixels = as_float_image(image)
    spacing = check_spacing(pixel_spacing_mm)
    unknown = set(kinds) - set(CANDIDATE_KINDS)
    if unknown:
        raise SegmentationError(f"kinds: unknown {sorted(unknown)}; expected some of {CANDIDATE_KINDS}")
    if breast is None:
        from mammocad.segment.breast import breast_region

        tissue = breast_region(pixels, view=view, laterality=laterality).tissue
    else:
        tissue = np.asarray(breast, dtype=bool)
        if tissue.shape != pixels.shape:
            raise SegmentationError(f"breast: shape {tissue.shape} does not match the image's {pixels.shape}")
    out = {
        "calcification": Proposals(
            "calcification", (), np.zeros((0, len(CALCIFICATION_FEATURES))), CALCIFICATION_FEATURES
        ),
        "mass": Proposals("mass", (), np.zeros((0, len(MASS_FEATURES))), MASS_FEATURES),
    }
    out = {k: v for k, v in out.items() if k in kinds}
    if tissue.sum() < 16 or float(np.ptp(pixels[tissue])) <= 0:
        return out
    context = _Context.make(pixels, tissue, spacing)
    if "calcification" in kinds:
        out["calcification"] = _calcification_clusters(
            pixels, context, k_calcification, cluster_distance_mm, min_cluster_size
        )
    if "mass" in kinds:
        out["mass"] = _masses(pixels, context)
    return out


@dataclass(frozen=True, eq=False)
class _Context:
    """The search region, depth from the skin and grey-level statistics, shared by the detectors."""

    tissue: np.ndarray
    spacing: float
    depth_mm: np.ndarray  # distance to the skin (or region edge) in mm, image-shaped
    edge_mm: np.ndarray  # distance to the region's edge, the image border included, in mm (coarse grid)
    edge_step: int  # pixels per cell of edge_mm
    max_depth_mm: float
    sorted_levels: np.ndarray  # the breast's grey levels on a coarse grid, sorted
    median: float
    spread: float

    @classmethod
    def make(cls, pixels: np.ndarray, tissue: np.ndarray, spacing: float) -> _Context:
        from scipy import ndimage as ndi

        step = max(1, int(round(1.0 / spacing)))  # depth on a ~1 mm grid is plenty
        coarse = block_mean(tissue.astype(float), step) > 0.5
        if coarse.all():  # no skin in view (a crop): everything is deep
            depth = np.full(coarse.shape, float(max(pixels.shape)) * spacing)
        else:
            # distance to the nearest pixel outside the region; the image border (a chest
            # wall, the edge of a crop) is not skin
            depth = ndi.distance_transform_edt(coarse) * (step * spacing)
        full = np.repeat(np.repeat(depth, step, axis=0), step, axis=1)[: pixels.shape[0], : pixels.shape[1]]
        edge = ndi.distance_transform_edt(np.pad(coarse, 1))[1:-1, 1:-1] * (step * spacing)
        levels = np.sort(block_mean(np.where(tissue, pixels, np.nan), step)[coarse].ravel())
        levels = levels[np.isfinite(levels)]
        median, spread = robust_level(pixels[tissue][:: max(1, int(tissue.sum() // 200_000))])
        return cls(
            tissue=tissue,
            spacing=spacing,
            depth_mm=full,
            edge_mm=edge,
            edge_step=step,
            max_depth_mm=float(max(full.max(), spacing)),
            sorted_levels=levels if levels.size else np.array([median]),
            median=median,
            spread=max(spread, 1e-6 * max(abs(median), 1.0)),
        )

    def holds(self, x: float, y: float, margin_mm: float) -> bool:
        """Whether the point lies in the search region, at least ``margin_mm`` from its edge.

        The image border counts as an edge: a finding centred on the film's edge
        cannot be localised (and would be drawn cut off).
        """
        rows, cols = self.tissue.shape
        r, c = int(round(y)), int(round(x))
        if not (0 <= r < rows and 0 <= c < cols) or not self.tissue[r, c]:
            return False
        return bool(self.edge_mm[r // self.edge_step, c // self.edge_step] >= margin_mm)

    def rank(self, value: float) -> float:
        """Fraction of the breast darker than ``value``."""
        return float(np.searchsorted(self.sorted_levels, value)) / float(self.sorted_levels.size)


def _fill_outside(values: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``values`` with every pixel outside ``inside`` replaced by the nearest inside one's."""
    from scipy import ndimage as ndi

    if inside.all() or not inside.any():
        return values
    idx = ndi.distance_transform_edt(~inside, return_distances=False, return_indices=True)
    return values[tuple(idx)]


def _calcification_clusters(
    pixels: np.ndarray, ctx: _Context, k: float, link_mm: float, min_size: int
) -> Proposals:
    from scipy import ndimage as ndi

    spacing = ctx.spacing
    names = CALCIFICATION_FEATURES
    empty = Proposals("calcification", (), np.zeros((0, len(names))), names)
    rr, cc = np.nonzero(ctx.tissue)
    pad = 4
    r0, r1 = max(0, rr.min() - pad), min(pixels.shape[0], rr.max() + 1 + pad)
    c0, c1 = max(0, cc.min() - pad), min(pixels.shape[1], cc.max() + 1 + pad)
    region = ctx.tissue[r0:r1, c0:c1]
    crop = _fill_outside(pixels[r0:r1, c0:c1], region)
    # Stay clear of the skin line, whose thin bright skin also looks like a spot.
    inside = region & (ctx.depth_mm[r0:r1, c0:c1] >= _SKIN_RIM_MM)
    if inside.sum() < 16:
        return empty
    z = blob_response(crop, inside, spacing, _CALC_SCALES_MM, floor=1e-3 * float(np.ptp(crop)))
    spots = (z > k) & inside
    lab, n = ndi.label(spots)
    if n == 0:
        return empty
    on = lab > 0
    ids = lab[on]
    ys, xs = np.nonzero(on)
    areas = np.bincount(ids, minlength=n + 1)[1:].astype(float)
    centres = (
        np.stack(
            [np.bincount(ids, ys, minlength=n + 1)[1:], np.bincount(ids, xs, minlength=n + 1)[1:]], axis=1
        )
        / areas[:, None]
    )
    peak = np.full(n + 1, -np.inf)
    np.maximum.at(peak, ids, z[on])
    sharp = crop - ndi.gaussian_filter(crop, max(1.0, 0.1 / spacing))
    s_med, s_noise = robust_level(sharp[inside])
    s_peak = np.full(n + 1, -np.inf)
    np.maximum.at(s_peak, ids, sharp[on])
    ok = areas <= math.pi / 4.0 * (_MAX_SPOT_MM / spacing + 1.0) ** 2
    centres, peak, areas = centres[ok], peak[1:][ok], areas[ok]
    s_z = (s_peak[1:][ok] - s_med) / max(s_noise, 1e-12)
    breast_cm2 = float(inside.sum()) * spacing**2 / 100.0
    film_spots = len(centres) / max(breast_cm2, 1e-6)
    if len(centres) < min_size:
        return empty
    from scipy.spatial import cKDTree

    # Cluster proposals centred on dense groups of spots: each spot's neighbourhood
    # (spots within ``link_mm``), the densest first, none centred within ``link_mm``
    # of a stronger one (a long chain of texture spots is not one wide "cluster").
    pts_mm = centres * spacing
    tree = cKDTree(pts_mm)
    hoods = tree.query_ball_point(pts_mm, r=link_mm)
    weight = np.asarray([len(h) + 1e-3 * float(np.median(peak[h])) for h in hoods])
    taken: list[np.ndarray] = []
    rows, rois = [], []
    for i in np.argsort(-weight, kind="stable"):
        members_idx = np.asarray(hoods[i], dtype=int)
        m = members_idx.size
        if m < min_size:
            break
        centre = pts_mm[members_idx].mean(axis=0)
        if any(float(np.hypot(*(centre - t))) < link_mm for t in taken):
            continue
        if not ctx.holds(centre[1] / spacing + c0, centre[0] / spacing + r0, _SKIN_RIM_MM):
            continue
        taken.append(centre)
        if len(taken) > _MAX_CLUSTERS:
            break
        members = np.zeros(len(centres), dtype=bool)
        members[members_idx] = True
        pts = centres[members]
        cy, cx = centre / spacing
        reach = float(np.sqrt(((pts - [cy, cx]) ** 2).sum(axis=1)).max())
        z_m = np.sort(peak[members])[::-1]
        cov = np.cov((pts * spacing).T) if m > 2 else np.eye(2)
        ev = np.sort(np.linalg.eigvalsh(cov))
        linearity = 1.0 - math.sqrt(max(ev[0], 0.0) / max(ev[1], 1e-12))
        radius_mm = max(reach * spacing + 2.0, _MIN_CALC_ROI_MM)
        near = tree.query_ball_point([cy * spacing, cx * spacing], r=radius_mm + 10.0, return_length=True)
        crowd = max(int(near) - m, 0) / m
        iy, ix = int(round(cy)), int(round(cx))
        win = max(2, int(round(radius_mm / spacing)))
        patch = crop[max(0, iy - win) : iy + win + 1, max(0, ix - win) : ix + win + 1]
        level = float(np.median(patch))
        depth = float(ctx.depth_mm[iy + r0, ix + c0])
        area_cm2 = math.pi * radius_mm**2 / 100.0
        rows.append(
            [
                math.log(m),
                float(np.median(z_m)),
                float(z_m[0]),
                float(np.mean(z_m[:3])),
                math.log(max(reach * spacing, spacing)),
                math.log(m / area_cm2),
                float(np.mean(areas[members])) * spacing**2,
                linearity,
                ctx.rank(level),
                depth / ctx.max_depth_mm,
                math.log1p(depth),
                float(np.median(s_z[members])),
                math.log1p(crowd),
                math.log1p(film_spots),
                0.0,  # rank, set below
            ]
        )
        rois.append(ROI(float(cx + c0), float(cy + r0), radius_mm / spacing))
    if not rows:
        return empty
    feats = np.asarray(rows, dtype=float)
    strength = feats[:, 0] + np.log(np.maximum(feats[:, 1], 1e-6))
    order = np.argsort(-strength, kind="stable")
    feats[order, names.index("log_rank")] = np.log1p(np.arange(len(order)))
    return Proposals("calcification", tuple(rois), np.nan_to_num(feats), names)


def _masses(pixels: np.ndarray, ctx: _Context) -> Proposals:
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max

    names = MASS_FEATURES
    empty = Proposals("mass", (), np.zeros((0, len(names))), names)
    spacing = ctx.spacing
    step = max(1, int(round(_MASS_GRID_MM / spacing)))
    px_mm = spacing * step
    small = block_mean(pixels, step)
    inside = block_mean(ctx.tissue.astype(float), step) > 0.5
    if inside.sum() < 9:
        return empty
    spread = ctx.spread
    filled = _fill_outside(small, inside)
    depth = block_mean(ctx.depth_mm, step)
    # Two channels: brightness (a mass is denser than its surroundings) and smoothness
    # (a mass is a homogeneous density, parenchyma is textured): the log of the fine
    # texture energy, negated, so that a smooth disc is a bright blob there.
    band = pixels - ndi.gaussian_filter(pixels, max(1.0, 0.2 / spacing))
    energy = block_mean(band * band, step)
    log_e = np.log(np.maximum(energy, 1e-12 * max(float(energy.max()), 1e-12)))
    e_med, e_spread = robust_level(log_e[inside])
    smooth = _fill_outside(-(log_e - e_med) / max(e_spread, 1e-6), inside)
    channels = []
    for values in (filled / spread, smooth):
        per_scale = []
        for radius_mm in _MASS_RADII_MM:
            sigma = radius_mm / px_mm / math.sqrt(2.0)
            per_scale.append(np.where(inside, -(sigma**2) * ndi.gaussian_laplace(values, sigma), 0.0))
        channels.append(per_scale)
    responses, smooth_responses = channels
    # Peaks at every scale (a small mass on a large dense region is no scale-space
    # maximum, but a spatial one at its own scale), the strongest few per scale and
    # channel.
    found: list[tuple[int, float, int, int, int]] = []
    for ch, per_scale in enumerate(channels):
        for i, radius_mm in enumerate(_MASS_RADII_MM):
            distance = max(1, int(round(0.5 * radius_mm / px_mm)))
            peaks = peak_local_max(
                per_scale[i],
                min_distance=distance,
                threshold_abs=0.05,
                labels=inside.astype(np.int32),
                num_peaks=_MASS_PER_SCALE,
                exclude_border=False,
            )
            found += [(ch, float(per_scale[i][r, c]), int(r), int(c), i) for r, c in peaks]
    if not found:
        return empty
    found.sort(key=lambda t: (t[0], -t[1]))
    # Drop a peak near a stronger one of a similar scale (the same blob seen twice).
    kept: list[tuple[int, int, int]] = []
    for _, _, r, c, i in found:
        radius_px = _MASS_RADII_MM[i] / px_mm
        if not ctx.holds((c + 0.5) * step - 0.5, (r + 0.5) * step - 0.5, 0.5 * _MASS_RADII_MM[i]):
            continue  # centred off the region or on its edge
        if any(
            abs(i - ki) <= 1 and math.hypot(r - kr, c - kc) < 0.5 * max(radius_px, _MASS_RADII_MM[ki] / px_mm)
            for kr, kc, ki in kept
        ):
            continue
        kept.append((r, c, i))
        if len(kept) >= _MAX_MASS_PROPOSALS:
            break
    strength = [float(responses[i][r, c]) for r, c, i in kept]
    top = max(strength)
    gy, gx = np.gradient(ndi.gaussian_filter(filled, 1.0))
    hessians: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def hessian(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if i not in hessians:
            sig = _MASS_RADII_MM[i] / px_mm / math.sqrt(2.0)
            hessians[i] = tuple(ndi.gaussian_filter(filled, sig, order=o) for o in ((2, 0), (0, 2), (1, 1)))  # type: ignore[assignment]
        return hessians[i]

    yy, xx = np.mgrid[: small.shape[0], : small.shape[1]]
    rows, rois = [], []
    order = np.argsort(-np.asarray(strength), kind="stable")
    rank_of = np.empty(len(kept), dtype=int)
    rank_of[order] = np.arange(len(kept))
    for n_i, (r, c, scale_i) in enumerate(kept):
        radius_px = _MASS_RADII_MM[scale_i] / px_mm
        rank = int(rank_of[n_i])
        w = int(math.ceil(2.2 * radius_px)) + 1
        sl = (slice(max(0, r - w), r + w + 1), slice(max(0, c - w), c + w + 1))
        dist = np.hypot(yy[sl] - r, xx[sl] - c)
        disc = dist <= radius_px
        ring = (dist > radius_px) & (dist <= 2.0 * radius_px)
        vals = filled[sl]
        ins = inside[sl]
        in_disc = vals[disc & ins] if (disc & ins).any() else vals[disc]
        in_ring = vals[ring & ins] if (ring & ins).any() else vals[ring] if ring.any() else in_disc
        mean_in = float(in_disc.mean())
        contrast = (mean_in - float(in_ring.mean())) / spread
        texture = float(in_disc.std()) / spread
        e_vals = log_e[sl]
        e_in = e_vals[disc & ins] if (disc & ins).any() else e_vals[disc]
        e_ring = e_vals[ring & ins] if (ring & ins).any() else e_in
        texture_ratio = float(np.mean(e_in) - np.mean(e_ring))
        # Hessian at the blob's scale: a round blob has two equal negative curvatures.
        lr, lc = r - sl[0].start, c - sl[1].start
        a, b, d = (float(h[r, c]) for h in hessian(scale_i))
        tr, det = a + b, a * b - d * d
        disc_term = math.sqrt(max(tr * tr / 4.0 - det, 0.0))
        l1, l2 = tr / 2.0 - disc_term, tr / 2.0 + disc_term  # l1 <= l2
        isotropy = float(np.clip(l2 / l1, -1.0, 1.0)) if l1 < 0 else -1.0
        # Gradient convergence in the ring: bright blobs have gradients pointing inwards.
        ry, rx = yy[sl] - r, xx[sl] - c
        norm = np.hypot(ry, rx) + 1e-9
        g1, g2 = gy[sl], gx[sl]
        gn = np.hypot(g1, g2) + 1e-12
        cosine = -(g1 * ry + g2 * rx) / (norm * gn)
        band = (dist > 0.5 * radius_px) & (dist <= 1.5 * radius_px) & ins
        convergence = float(cosine[band].mean()) if band.any() else 0.0
        # The half-contrast region at the centre: compact and filling the disc for a mass.
        half = 0.5 * (float(vals[lr, lc]) + float(in_ring.mean()))
        blob = (vals >= half) & (dist <= 2.0 * radius_px)
        lab, _ = ndi.label(blob)
        fill, ecc = 0.0, 1.0
        if lab[lr, lc] > 0:
            comp = lab == lab[lr, lc]
            fill = float(comp.sum()) / max(float(disc.sum()), 1.0)
            ys, xs = np.nonzero(comp)
            if ys.size > 2:
                ev = np.sort(np.linalg.eigvalsh(np.cov(np.vstack([ys, xs]).astype(float))))
                ecc = math.sqrt(max(0.0, 1.0 - max(ev[0], 0.0) / max(ev[1], 1e-12)))
        dep = float(depth[r, c])
        rows.append(
            [
                strength[n_i],
                math.log(_MASS_RADII_MM[scale_i]),
                contrast,
                (mean_in - ctx.median) / spread,
                ctx.rank(mean_in),
                dep / ctx.max_depth_mm,
                math.log1p(dep),
                isotropy,
                texture,
                convergence,
                strength[n_i] / max(top, 1e-9),
                math.log1p(rank),
                float((disc & ins).sum()) / max(float(disc.sum()), 1.0),
                fill,
                ecc,
                spread / max(abs(ctx.median), 1e-9),
                float(smooth_responses[scale_i][r, c]),
                texture_ratio,
            ]
        )
        rois.append(
            ROI(
                float((c + 0.5) * step - 0.5),
                float((r + 0.5) * step - 0.5),
                1.5 * _MASS_RADII_MM[scale_i] / spacing,
            )
        )
    return Proposals("mass", tuple(rois), np.nan_to_num(np.asarray(rows, dtype=float)), names)
