"""Shared by the FROC benchmark and the scorer training: data sets, proposals, hits, FROC.

Not a benchmark itself (``froc_detection.py`` and ``froc_train_scorer.py`` are).

Data sets
---------
``mias``
    Every mini-MIAS film (322, 0.2 mm): CALC rows are calcification clusters,
    CIRC/SPIC/MISC rows masses, ARCH/ASYM rows other abnormalities. Rows without
    coordinates are left out of the lesions and counted. The view is not passed
    (the pectoral muscle is detected), as for a PNG on the command line.
    Patients: films 2k-1 and 2k are one woman.
``synthetic``
    Images from :func:`mammocad.synth.make_case` (1024², 0.1 mm): image ``i`` of a
    cohort with first seed ``s`` is ``make_case(s + i)``, woman ``i // 2`` (a CC and
    an MLO view), abnormality cycling calcification / mass / both per woman and
    pathology alternating. The lesion circle is the one enclosing the drawn lesion.

Hits
----
A candidate of kind K *hits* a lesion of type K when its centre lies in the
lesion's circle. A candidate is a *false mark* when its centre lies in no
annotated circle (of any abnormality); a candidate inside another abnormality's
circle is neither a hit nor a false mark.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("calcification", "mass")
MIAS_KIND = {"CALC": "calcification", "CIRC": "mass", "SPIC": "mass", "MISC": "mass"}
FPI_POINTS = (0.25, 0.5, 1.0, 2.0)
#: First seeds of the synthetic training and test cohorts (never overlapping).
SYNTHETIC_TRAIN_SEED = 20000
SYNTHETIC_TEST_SEED = 30000
ABNORMALITY_CYCLE = ("calcification", "mass", "both")


@dataclass
class Film:
    """One image with its annotations and (after :func:`proposals_for`) its proposals."""

    name: str
    patient: str
    dataset: str
    lesions: list[tuple[str, float, float, float]]  # (kind or "other", x, y, radius)
    proposals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # kind → (rois n×3, X)


def add_common_arguments(parser) -> None:
    """``--mias``, ``--model``, ``--seed`` and ``--cache``, shared by the FROC scripts."""
    parser.add_argument(
        "--mias", type=Path, default=None, help="mini-MIAS folder (default $MAMMOCAD_DATA/mias)"
    )
    parser.add_argument("--model", choices=("trees", "logistic"), default="trees")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="folder caching each image's proposals")


def mias_folder(parser, given: Path | None) -> Path:
    """``--mias`` or ``$MAMMOCAD_DATA/mias``; a parser error when neither holds ``Info.txt``."""
    data = os.environ.get("MAMMOCAD_DATA")
    mias = given or (Path(data) / "mias" if data else None)
    if mias is None or not (mias / "Info.txt").is_file():
        parser.error("mini-MIAS not found: set MAMMOCAD_DATA or give --mias")
    return mias


def source_digest() -> str:
    """Hash of the code that makes proposals (docstrings, ranking and scoring left out).

    Cached proposals are reused only while this code is unchanged.
    """
    import ast

    h = hashlib.sha256()
    for name in ("breast.py", "candidates.py", "_common.py"):
        tree = ast.parse((ROOT / "src/mammocad/segment" / name).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
                continue  # module docstring
            if isinstance(node, ast.FunctionDef) and node.name in ("detect_candidates", "suppress"):
                continue
            for sub in ast.walk(node):
                body = getattr(sub, "body", None)
                if (
                    isinstance(sub, (ast.FunctionDef, ast.ClassDef))
                    and body
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)
                ):
                    sub.body = body[1:] or [ast.Pass()]
            h.update(ast.dump(node).encode())
    return h.hexdigest()[:16]


def mias_films(folder: Path) -> tuple[list[Film], dict]:
    """All mini-MIAS films with their lesion circles, and counts of what was left out."""
    from mammocad.datasets.mias import read_mias_info

    info = read_mias_info(folder / "Info.txt")
    films: dict[str, Film] = {}
    skipped: dict[str, int] = {}
    for row in info.itertuples():
        number = int(str(row.film)[3:])
        film = films.setdefault(row.film, Film(str(row.film), f"mias_{(number + 1) // 2:03d}", "mias", []))
        cls = str(row.mias_class)
        if cls == "NORM":
            continue
        kind = MIAS_KIND.get(cls, "other")
        if not (np.isfinite(row.x_info) and np.isfinite(row.y_info) and np.isfinite(row.radius)):
            key = f"{kind}_without_coordinates"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        film.lesions.append((kind, float(row.x_info), 1024.0 - float(row.y_info), float(row.radius)))
    return list(films.values()), skipped


def mias_image(folder: Path, film: Film) -> tuple[np.ndarray, float, str | None]:
    """(pixels, spacing, view) of a mini-MIAS film; the view is not passed (detected)."""
    from mammocad.io import read_mammogram

    return read_mammogram(folder / f"{film.name}.png").pixels, 0.2, None


def synthetic_plan(n: int, seed0: int) -> list[dict]:
    """Arguments of :func:`make_case` for a cohort of ``n`` images."""
    plan = []
    for i in range(n):
        woman = i // 2
        plan.append(
            {
                "seed": seed0 + i,
                "abnormality": ABNORMALITY_CYCLE[woman % 3],
                "pathology": "benign" if woman % 2 == 0 else "malignant",
                "view": "CC" if i % 2 == 0 else "MLO",
                "woman": f"syn{seed0}_{woman:04d}",
            }
        )
    return plan


def synthetic_case(spec: dict):
    from mammocad.synth import make_case

    return make_case(
        spec["seed"], abnormality=spec["abnormality"], pathology=spec["pathology"], view=spec["view"]
    )


def synthetic_image(spec: dict) -> tuple[np.ndarray, float, str, list[tuple[str, float, float, float]]]:
    """(pixels, spacing, view, lesion circles) of a synthetic image of :func:`synthetic_plan`."""
    case = synthetic_case(spec)
    lesions = [(les.abnormality, float(les.x), float(les.y), float(les.radius)) for les in case.lesions]
    return case.mammogram.pixels, float(case.mammogram.pixel_spacing_mm), str(case.mammogram.view), lesions


def synthetic_films(n: int, seed0: int) -> list[Film]:
    films = []
    for spec in synthetic_plan(n, seed0):
        films.append(Film(f"synth{spec['seed']}", spec["woman"], "synthetic", []))
    return films


def proposals_for(
    film: Film,
    image_fn,
    cache: Path | None,
    digest: str,
    k_calcification: float | None = None,
) -> None:
    """Fill ``film.proposals`` (and synthetic lesions), from ``cache`` when there."""
    from mammocad.segment.candidates import propose_candidates

    key = f"{film.name}_{digest}" + ("" if k_calcification is None else f"_k{k_calcification:g}")
    path = None if cache is None else cache / f"{key}.npz"
    if path is not None and path.is_file():
        data = np.load(path, allow_pickle=False)
        for kind in KINDS:
            film.proposals[kind] = (data[f"{kind}_rois"], data[f"{kind}_X"])
        if film.dataset == "synthetic":
            film.lesions = [
                (str(k), float(x), float(y), float(r))
                for k, (x, y, r) in zip(data["lesion_kinds"], data["lesion_xyr"], strict=True)
            ]
        return
    pixels, spacing, view, lesions = image_fn(film)
    if lesions is not None:
        film.lesions = lesions
    kwargs = {} if k_calcification is None else {"k_calcification": k_calcification}
    props = propose_candidates(pixels, pixel_spacing_mm=spacing, view=view, **kwargs)
    arrays = {}
    for kind in KINDS:
        p = props[kind]
        rois = np.asarray([[r.x, r.y, r.radius] for r in p.rois], dtype=float).reshape(-1, 3)
        film.proposals[kind] = (rois, p.features)
        arrays[f"{kind}_rois"] = rois
        arrays[f"{kind}_X"] = p.features
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays["lesion_kinds"] = np.asarray([les[0] for les in film.lesions], dtype="U16")
        arrays["lesion_xyr"] = np.asarray([les[1:] for les in film.lesions], dtype=float).reshape(-1, 3)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)


def labels(film: Film, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per proposal of ``kind``: (index of the lesion of that kind it hits or -1, on another abnormality)."""
    rois, _ = film.proposals[kind]
    hit = np.full(len(rois), -1, dtype=int)
    other = np.zeros(len(rois), dtype=bool)
    same = [i for i, les in enumerate(film.lesions) if les[0] == kind]
    for j, (x, y, _) in enumerate(rois):
        for i, (k, lx, ly, lr) in enumerate(film.lesions):
            inside = (x - lx) ** 2 + (y - ly) ** 2 <= lr**2
            if not inside:
                continue
            if i in same and hit[j] < 0:
                hit[j] = i
            elif k != kind:
                other[j] = True
    return hit, other


def film_candidates(film: Film, scorer) -> list:
    """The detector's candidates on ``film`` (its cached proposals ranked by ``scorer``), best first."""
    from mammocad.io import ROI
    from mammocad.segment.candidates import CALCIFICATION_FEATURES, MASS_FEATURES, Proposals, rank_candidates

    names = {"calcification": CALCIFICATION_FEATURES, "mass": MASS_FEATURES}
    proposals = {}
    for kind in KINDS:
        rois, X = film.proposals[kind]
        proposals[kind] = Proposals(kind, tuple(ROI(*map(float, r)) for r in rois), X, names[kind])
    return rank_candidates(proposals, scorer=scorer)


def froc(films: list[Film], candidates: list[list]) -> dict:
    """FROC per kind from each film's candidates (``Candidate`` values, any order).

    Returns, per kind: the numbers of lesions and images, the sensitivity at
    :data:`FPI_POINTS` false marks per image, and the curve's corners.
    """
    out = {}
    n_images = len(films)
    for kind in KINDS:
        marks = []  # (score, lesion key or None, is a false mark)
        n_lesions = 0
        for f, film in enumerate(films):
            n_lesions += sum(1 for les in film.lesions if les[0] == kind)
            for cand in candidates[f]:
                if cand.kind != kind:
                    continue
                key, other = None, False
                for i, (k, lx, ly, lr) in enumerate(film.lesions):
                    if (cand.roi.x - lx) ** 2 + (cand.roi.y - ly) ** 2 <= lr**2:
                        if k == kind and key is None:
                            key = (f, i)
                        elif k != kind:
                            other = True
                marks.append((float(cand.score), key, key is None and not other))
        marks.sort(key=lambda m: -m[0])
        found: set = set()
        false = 0
        curve = [(0.0, 0.0)]
        i = 0
        while i < len(marks):
            t = marks[i][0]
            while i < len(marks) and marks[i][0] == t:
                _, key, is_false = marks[i]
                if key is not None:
                    found.add(key)
                false += int(is_false)
                i += 1
            curve.append((false / n_images, len(found) / max(n_lesions, 1)))
        at = {}
        for x in FPI_POINTS:
            at[str(x)] = max(s for fpi, s in curve if fpi <= x + 1e-12)
        out[kind] = {
            "lesions": n_lesions,
            "images": n_images,
            "sensitivity_at_fpi": at,
            "max_sensitivity": curve[-1][1],
            "max_fpi": curve[-1][0],
            "curve": [[round(a, 4), round(b, 4)] for a, b in _thin(curve)],
        }
    return out


def _thin(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Keep the corners of a step curve (where sensitivity rises)."""
    out = []
    last = -1.0
    for fpi, s in curve:
        if s > last or fpi == curve[-1][0]:
            out.append((fpi, s))
            last = s
    return out


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.3f}"


# --------------------------------------------------------------------------------------
# the learned scorer

#: How the shipped scorer is trained (see fit_scorer).
MODEL_PARAMS = {
    "logistic": {"C": 0.3},
    "trees": {
        "n_estimators": 200,
        "max_depth": 3,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "min_samples_leaf": 20,
    },
}


def training_rows(films: list[Film], kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels (1 = hits a lesion of ``kind``) and film index of every usable proposal.

    Proposals inside another abnormality's circle are left out (neither lesion nor false mark).
    """
    xs, ys, gs = [], [], []
    for f, film in enumerate(films):
        rois, X = film.proposals[kind]
        if len(rois) == 0:
            continue
        hit, other = labels(film, kind)
        use = (hit >= 0) | ~other
        xs.append(X[use])
        ys.append((hit[use] >= 0).astype(int))
        gs.append(np.full(int(use.sum()), f))
    if not xs:
        return np.zeros((0, 0)), np.zeros(0, int), np.zeros(0, int)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(gs)


def fit_model(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    names: tuple[str, ...],
    model: str,
    seed: int,
    params: dict | None = None,
):
    """A :class:`LogisticModel` or :class:`TreeModel` fitted to ``X``, ``y`` with sample weights ``w``.

    ``params`` replaces :data:`MODEL_PARAMS` ``[model]``.
    """
    params = MODEL_PARAMS[model] if params is None else params
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mammocad.segment.scoring import LogisticModel, TreeModel

    if model == "logistic":
        scaler = StandardScaler().fit(X, sample_weight=w)
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        clf = LogisticRegression(C=params["C"], max_iter=5000)
        clf.fit((X - scaler.mean_) / scale, y, sample_weight=w)
        return LogisticModel(
            names, scaler.mean_.copy(), scale.copy(), clf.coef_[0].copy(), float(clf.intercept_[0])
        )
    if model == "trees":
        clf = GradientBoostingClassifier(random_state=seed, **params)
        clf.fit(X, y, sample_weight=w)
        return TreeModel.from_sklearn(clf, names)
    raise ValueError(f"unknown model {model!r}")


def fit_scorer(training: dict[str, list[list[Film]]], model: str, seed: int, provenance: dict):
    """Fit one model per kind on the proposals of the given film lists (each list weighted equally).

    ``training[kind]`` is a list of film lists (data sets); every data set gets the
    same total weight, spread so that its lesions and its false marks weigh as much
    as each other.
    """
    from mammocad.segment.candidates import CALCIFICATION_FEATURES, MASS_FEATURES
    from mammocad.segment.scoring import CandidateScorer

    names = {"calcification": CALCIFICATION_FEATURES, "mass": MASS_FEATURES}
    models = {}
    counts = {}
    for kind in KINDS:
        parts = [training_rows(films, kind) for films in training[kind]]
        parts = [p for p in parts if p[0].size]
        X = np.vstack([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        w = np.concatenate([_balanced_weights(p[1]) / len(parts) for p in parts])
        counts[kind] = {"proposals": int(len(y)), "lesion_proposals": int(y.sum())}
        fitted = fit_model(X, y, w, names[kind], model, seed)
        # Trained with lesions and false marks weighing the same (prior odds 1): shift the
        # log-odds back to the proposals' own prior so that scores estimate P(lesion).
        models[kind] = _shift(fitted, float(np.log(y.mean() / (1.0 - y.mean()))))
    return CandidateScorer(
        models,
        {**provenance, "model": model, "params": MODEL_PARAMS[model], "seed": seed, "training": counts},
    )


def _shift(model, log_odds: float):
    """``model`` with ``log_odds`` added to its decision function."""
    import dataclasses

    from mammocad.segment.scoring import LogisticModel

    if isinstance(model, LogisticModel):
        return dataclasses.replace(model, intercept=model.intercept + log_odds)
    return dataclasses.replace(model, init=model.init + log_odds)


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    """Weights summing to 1 with each class (present) holding half."""
    w = np.zeros(len(y), dtype=float)
    classes = [c for c in (0, 1) if (y == c).any()]
    for c in classes:
        w[y == c] = 1.0 / (len(classes) * (y == c).sum())
    return w


def grouped_folds(films: list[Film], n_splits: int, seed: int) -> list[np.ndarray]:
    """Test-film indices of ``n_splits`` folds with no woman in two folds (stratified by lesion kind)."""
    from sklearn.model_selection import StratifiedGroupKFold

    strata = np.asarray(
        [
            2 * any(les[0] == "calcification" for les in f.lesions)
            + any(les[0] == "mass" for les in f.lesions)
            for f in films
        ]
    )
    groups = np.asarray([f.patient for f in films])
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros(len(films)), strata, groups)]
