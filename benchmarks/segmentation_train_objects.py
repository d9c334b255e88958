"""Train the calcification object scorer of ``segment_calcifications`` (writes its JSON).

Every object the spot filter finds above 3 noise levels in an ROI is a candidate;
the scorer decides from its features (``OBJECT_FEATURES``) whether it is a
calcification. Training data: synthetic development cases, never the benchmark's
(``segmentation_accuracy.py`` uses seeds 1000-1109, ``segmentation_speed.py``
2000-2007): ``--cases`` images ``make_case(seed0 + k, abnormality="both")``,
pathology alternating benign / malignant, one ROI per calcification cluster (its
enclosing circle). A candidate overlapping a drawn calcification is a positive.

The decision threshold stored with the model is chosen on held-out scores
(5-fold cross-validation over cases): the lowest threshold whose false positives
per ROI, after the size and shape limits, stay within ``--max-fp``. The model
shipped is then fitted on all the cases. Deterministic for a given seed.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/segmentation_train_objects.py            # writes the package file
    python benchmarks/segmentation_train_objects.py --cases 40 --out /tmp/o.json  # quick

Writes ``src/mammocad/segment/data/calcification_objects.json`` and
``benchmarks/results/segmentation_train_objects.json`` (the held-out curve).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import froc_common as fc  # noqa: E402

from mammocad._fileio import atomic_write_text  # noqa: E402
from mammocad.io import ROI  # noqa: E402
from mammocad.segment.calcifications import OBJECT_FEATURES, calcification_objects  # noqa: E402
from mammocad.segment.scoring import CandidateScorer, save_scorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KIND = "calcification_object"
#: Model settings of the object scorer (more data than the candidate scorer: deeper trees).
PARAMS = {
    "trees": {
        "n_estimators": 300,
        "max_depth": 4,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "min_samples_leaf": 20,
    },
    "logistic": {"C": 1.0},
}


def _digest() -> str:
    h = hashlib.sha256()
    for name in ("calcifications.py", "_common.py"):
        h.update(ast.dump(ast.parse((ROOT / "src/mammocad/segment" / name).read_text())).encode())
    return h.hexdigest()[:16]


def case_objects(
    seed: int, pathology: str, cache: Path | None, k_high: float, k_support: float
) -> dict[str, np.ndarray]:
    """Candidate objects of one case's calcification ROI: features, label, physical, overlaps."""
    path = (
        None if cache is None else cache / f"obj{seed}_{pathology}_k{k_high:g}_{k_support:g}_{_digest()}.npz"
    )
    if path is not None and path.is_file():
        return dict(np.load(path, allow_pickle=False))
    from mammocad.synth import make_case

    case = make_case(seed, abnormality="both", pathology=pathology)
    lesion = next(les for les in case.lesions if les.abnormality == "calcification")
    labels, feats, physical = calcification_objects(
        case.mammogram.pixels,
        ROI(lesion.x, lesion.y, lesion.radius),
        pixel_spacing_mm=0.1,
        k_high=k_high,
        k_support=k_support,
    )
    truth = lesion.labels
    both = (labels > 0) & (truth > 0)
    pairs = np.unique(np.stack([truth[both], labels[both]], axis=1), axis=0).reshape(-1, 2)
    out = {
        "X": feats,
        "y": np.isin(np.arange(1, feats.shape[0] + 1), pairs[:, 1]).astype(int),
        "physical": physical,
        "pairs": pairs,  # (truth label, candidate label) overlapping
        "n_truth": np.asarray(int(truth.max())),
    }
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **out)
        os.replace(tmp, path)
    return out


def curve(cases: list[dict], probs: list[np.ndarray], thresholds: np.ndarray) -> list[dict]:
    """Sensitivity and false positives per ROI at each threshold (kept = score >= t and physical)."""
    n_truth = sum(int(c["n_truth"]) for c in cases)
    rows = []
    for t in thresholds:
        detected = fp = 0
        for c, p in zip(cases, probs, strict=True):
            kept = (p >= t) & c["physical"].astype(bool)
            fp += int((kept & (c["y"] == 0)).sum())
            ok_ids = np.nonzero(kept)[0] + 1
            detected += np.unique(c["pairs"][np.isin(c["pairs"][:, 1], ok_ids), 0]).size
        rows.append({"threshold": float(t), "sensitivity": detected / n_truth, "fp_per_roi": fp / len(cases)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument(
        "--seed0", type=int, default=5000, help="first development seed (not 1000-1109, 2000-2007)"
    )
    parser.add_argument("--model", choices=("trees", "logistic"), default="trees")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and of the folds")
    parser.add_argument(
        "--max-fp", type=float, default=0.85, help="false positives per ROI allowed (held out)"
    )
    parser.add_argument(
        "--k-high", type=float, default=4.2, help="segment_calcifications' k_high (shapes features)"
    )
    parser.add_argument("--k-support", type=float, default=3.3, help="segment_calcifications' k_support")
    parser.add_argument("--cache", type=Path, default=None, help="folder caching each case's candidates")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "src/mammocad/segment/data/calcification_objects.json"
    )
    parser.add_argument(
        "--results", type=Path, default=ROOT / "benchmarks/results/segmentation_train_objects.json"
    )
    args = parser.parse_args()
    if (
        1000 <= args.seed0 + args.cases
        and args.seed0 <= 1109
        or 2000 <= args.seed0 + args.cases
        and args.seed0 <= 2007
    ):
        parser.error("the development seeds overlap the benchmarks' (1000-1109, 2000-2007)")

    started = time.perf_counter()
    cases = []
    for k in range(args.cases):
        pathology = "benign" if k % 2 == 0 else "malignant"
        cases.append(case_objects(args.seed0 + k, pathology, args.cache, args.k_high, args.k_support))
    rng = np.random.default_rng(args.seed)
    fold_of = rng.permutation(np.arange(args.cases) % 5)
    held = [np.zeros(0)] * args.cases
    for fold in range(5):
        train = [c for c, f in zip(cases, fold_of, strict=True) if f != fold]
        model = _fit(train, args.model, args.seed)
        scorer = CandidateScorer({KIND: model}, {})
        for i in np.nonzero(fold_of == fold)[0]:
            held[i] = scorer.score(KIND, cases[i]["X"], OBJECT_FEATURES)
    grid = np.round(np.linspace(0.05, 0.95, 91), 3)
    cv_curve = curve(cases, held, grid)
    allowed = [r for r in cv_curve if r["fp_per_roi"] <= args.max_fp]
    chosen = min(allowed, key=lambda r: r["threshold"]) if allowed else cv_curve[-1]
    final = _fit(cases, args.model, args.seed)
    command = (
        "OMP_NUM_THREADS=1 python benchmarks/segmentation_train_objects.py "
        f"--cases {args.cases} --seed0 {args.seed0} --model {args.model} --seed {args.seed} --max-fp {args.max_fp} "
        f"--k-high {args.k_high:g} --k-support {args.k_support:g}"
    )
    scorer = CandidateScorer(
        {KIND: final},
        {
            "what": "calcification object scorer of segment_calcifications",
            "command": command,
            "data": f"mammocad.synth.make_case(seed, abnormality='both'), seeds {args.seed0}-{args.seed0 + args.cases - 1}",
            "model": args.model,
            "params": PARAMS[args.model],
            "seed": args.seed,
            "objects": int(sum(len(c["y"]) for c in cases)),
            "calcification_objects": int(sum(int(c["y"].sum()) for c in cases)),
            "held_out_at_threshold": chosen,
            "k_high": args.k_high,
            "k_support": args.k_support,
        },
        {KIND: chosen["threshold"]},
    )
    save_scorer(scorer, args.out)
    result = {
        "benchmark": "segmentation_train_objects",
        "command": command,
        "platform": platform.platform(),
        "chosen": chosen,
        "held_out_curve": cv_curve,
        "elapsed_s": time.perf_counter() - started,
    }
    atomic_write_text(args.results, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "held_out_curve"}, indent=2))


def _fit(cases: list[dict], model: str, seed: int):
    X = np.vstack([c["X"] for c in cases])
    y = np.concatenate([c["y"] for c in cases])
    w = fc._balanced_weights(y)
    return fc.fit_model(X, y, w, OBJECT_FEATURES, model, seed, PARAMS[model])


if __name__ == "__main__":
    main()
