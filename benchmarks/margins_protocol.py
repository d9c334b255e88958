"""The evaluation protocol shared by the margin benchmarks (imported, not run).

Issue 14's protocol: patient-grouped, stratified 5-fold cross-validation repeated 10
times (``StratifiedGroupKFold``, one shuffle seed per repeat) for each model of
:func:`mammocad.models.make_model` with its default parameters (SVM, KNN with 8
neighbours, LDA, logistic regression; ``hgb`` where the installed mammocad has it).
Per repeat the out-of-fold probabilities give one ROC AUC; the reported AUC is the
mean over the repeats, with

- ``repeat_sd``: the standard deviation over the repeats (the split's noise), and
- ``ci95``: a 95 % percentile interval from 2000 bootstrap resamples of the
  *patients* (all lesions of a drawn patient come along) of the repeat-averaged
  out-of-fold score (the sample's noise, the larger of the two).
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODELS = ("svm", "knn", "lda", "logreg", "hgb")


def available_models(wanted: Sequence[str] = MODELS) -> list[str]:
    """The models of ``wanted`` that this mammocad can build."""
    from mammocad.models import MODEL_NAMES

    return [m for m in wanted if m in MODEL_NAMES]


def auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def bootstrap_auc_ci(
    y: np.ndarray, score: np.ndarray, groups: np.ndarray, *, n: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile interval of the AUC over resamples of whole groups (patients)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    values = []
    for _ in range(n):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        yb, sb = y[idx], score[idx]
        pos = int(yb.sum())
        neg = len(yb) - pos
        if pos == 0 or neg == 0:
            continue
        ranks = rankdata(sb)
        values.append((ranks[yb == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def cross_validated(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    model: str,
    *,
    repeats: int = 10,
    folds: int = 5,
) -> dict[str, object]:
    """Issue 14's protocol for one model on one feature matrix; see the module docstring."""
    from sklearn.model_selection import StratifiedGroupKFold

    from mammocad.models import make_model

    y = np.asarray(y, dtype=int)
    per_repeat = []
    mean_score = np.zeros(len(y))
    for rep in range(repeats):
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=rep)
        score = np.zeros(len(y))
        for train, test in cv.split(X, y, groups):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # collinear features (LDA), convergence
                fitted = make_model(model, random_state=rep).fit(X[train], y[train])
                score[test] = fitted.predict_proba(X[test])[:, 1]
        per_repeat.append(auc(y, score))
        mean_score += score / repeats
    lo, hi = bootstrap_auc_ci(y, mean_score, np.asarray(groups))
    return {
        "auc": round(float(np.mean(per_repeat)), 4),
        "repeat_sd": round(float(np.std(per_repeat)), 4),
        "ci95": [round(lo, 4), round(hi, 4)],
        "auc_of_mean_score": round(auc(y, mean_score), 4),
    }


def single_feature_aucs(table, columns: Sequence[str], y: np.ndarray, groups: np.ndarray) -> dict[str, dict]:
    """AUC of each raw feature value (> 0.5: larger in the positive class), with its CI."""
    out = {}
    for name in columns:
        x = table[name].to_numpy(dtype=float)
        if np.ptp(x) == 0:
            out[name] = {"auc": 0.5, "ci95": [0.5, 0.5]}
            continue
        lo, hi = bootstrap_auc_ci(y, x, groups)
        out[name] = {"auc": round(auc(y, x), 4), "ci95": [round(lo, 4), round(hi, 4)]}
    return out


def mass_feature_sets() -> dict[str, list[str]]:
    """The three mass feature sets compared: the paper's 26, the margin features, both."""
    from mammocad.features import MASS_FEATURES
    from mammocad.features.margin import MARGIN_FEATURES

    paper, margin = list(MASS_FEATURES), list(MARGIN_FEATURES)
    return {
        f"paper_mass_{len(paper)}": paper,
        f"margin_{len(margin)}": margin,
        f"extended_mass_{len(paper) + len(margin)}": paper + margin,
    }


def compare_sets(table, y: np.ndarray, groups: np.ndarray, *, repeats: int, single: Sequence[str]) -> dict:
    """:func:`cross_validated` for every set of :func:`mass_feature_sets` and every model,
    and :func:`single_feature_aucs` of the ``single`` columns (under ``"single_features"``)."""
    models = available_models()
    block: dict[str, object] = {
        name: {m: cross_validated(table[cols].to_numpy(float), y, groups, m, repeats=repeats) for m in models}
        for name, cols in mass_feature_sets().items()
    }
    block["single_features"] = single_feature_aucs(table, single, y, groups)
    return block


def margin_contrasts(table, group_column: str, *, repeats: int, single: Sequence[str]) -> dict:
    """Circumscribed against spiculated, and against ill-defined (``table["margin"]``)."""
    results = {}
    for other in ("spiculated", "ill-defined"):
        part = table[table["margin"].isin(["circumscribed", other])].reset_index(drop=True)
        y = (part["margin"] == other).to_numpy(dtype=int)
        groups = part[group_column].to_numpy()
        results[f"circumscribed_vs_{other}"] = compare_sets(part, y, groups, repeats=repeats, single=single)
    return results


def print_results(results: dict) -> None:
    """One line per feature set: each model's AUC and CI; the best single features."""
    for key, block in results.items():
        print(key)
        for name, per_model in block.items():
            if name == "single_features":
                best = sorted(per_model.items(), key=lambda kv: -abs(kv[1]["auc"] - 0.5))[:5]
                print("  best single:", ", ".join(f"{n} {v['auc']:.2f}" for n, v in best))
            elif "auc" in per_model:
                print(f"  {name:28s} AUC {per_model['auc']:.3f} {per_model['ci95']}")
            else:
                cells = "  ".join(
                    f"{m} {v['auc']:.3f} [{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}]"
                    for m, v in per_model.items()
                )
                print(f"  {name:20s} {cells}")


def arguments(doc: str | None, *, data: bool = True) -> argparse.ArgumentParser:
    """A margin benchmark's parser: its docstring as help; ``--data`` ($MAMMOCAD_DATA) where it reads films."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if data:
        parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA", "../shared/data"))
    return parser


def write_report(name: str, report: dict, *, models: bool = True) -> Path:
    """Write ``benchmarks/results/<name>.json`` (atomically) with the platform (and the models) added."""
    import platform
    import sys

    from mammocad._fileio import atomic_write_text

    report = {"benchmark": name, **report, **({"models": available_models()} if models else {})}
    report.update(python=sys.version.split()[0], machine=platform.machine())
    path = Path(__file__).resolve().parent / "results" / f"{name}.json"
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    return path


def finish(name: str, report: dict, note: str = "") -> int:
    """Write the report (:func:`write_report`), print its results and where it went; exit status 0."""
    path = write_report(name, report)
    print_results(report["results"])
    print(f"{note}wrote {path}")
    return 0


def contact_sheet(tiles: Sequence[tuple], path: Path, *, columns: int, tile: int = 180) -> None:
    """Write a PNG grid of lesion crops (1.25 ROI radii around the centre, contrast-stretched).

    Each tile is ``(image, roi, outlines, label, circle)``: ``outlines`` a list of
    ``((row, col) points, RGB colour)``, ``circle`` whether to draw the ROI circle (cyan).
    """
    from PIL import Image, ImageDraw

    from mammocad._fileio import atomic_path

    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (tile * columns, tile * rows))
    for n, (img, roi, outlines, label, circle) in enumerate(tiles):
        h = int(roi.radius * 1.25) + 2
        r0, c0 = int(roi.y) - h, int(roi.x) - h
        crop = np.pad(img, h, mode="edge")[r0 + h : r0 + 3 * h, c0 + h : c0 + 3 * h].astype(float)
        lo, hi = np.percentile(crop, [1, 99.5])
        crop = np.clip((crop - lo) / max(hi - lo, 1) * 255, 0, 255).astype(np.uint8)
        k = tile / (2 * h)
        im = Image.fromarray(crop).resize((tile, tile)).convert("RGB")
        draw = ImageDraw.Draw(im)
        if circle:
            cx, cy, r = (roi.x - c0 + 0.5) * k, (roi.y - r0 + 0.5) * k, roi.radius * k
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(0, 200, 255))
        for contour, colour in outlines:
            if len(contour):
                draw.line([((p[1] - c0 + 0.5) * k, (p[0] - r0 + 0.5) * k) for p in contour], fill=colour)
        draw.text((3, 3), label, fill=(255, 255, 0))
        sheet.paste(im, ((n % columns) * tile, (n // columns) * tile))
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
