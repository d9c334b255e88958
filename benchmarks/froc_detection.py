"""FROC of automatic detection on whole films: mini-MIAS (held out) and a synthetic cohort.

Sensitivity per lesion type (calcification cluster, mass) at 0.25, 0.5, 1 and 2
false marks per image, from every candidate ``detect_candidates`` proposes
(see ``froc_common.py`` for the data sets and the hit rule: a hit is a candidate of
the lesion's kind whose centre lies in the annotated circle; a false mark is a
candidate in no annotated circle; false marks are counted per kind).

- **mini-MIAS**, all 322 films (207 normal), every lesion with coordinates. The
  shipped scorer learned from mini-MIAS, so these figures come from patient-grouped
  cross-validation (``--folds``, no woman in two folds): each fold's films are
  scored by a scorer trained, exactly as the shipped one, on the other folds'
  films plus the synthetic training cohort.
- **Synthetic**: ``--synthetic`` images from ``make_case`` seeds 30000 onwards,
  which no scorer was trained on, scored by the shipped scorer through
  ``detect_candidates`` itself (the library path, end to end).

Also reported: what was left out (lesions without coordinates), each kind's
candidate recall (any candidate, any score) and the sensitivity within the
command line's 10 best candidates per film.

Usage::

    OMP_NUM_THREADS=1 MAMMOCAD_DATA=../shared/data python benchmarks/froc_detection.py
    python benchmarks/froc_detection.py --cache /tmp/props      # reuse proposals between runs

Writes ``benchmarks/results/froc_detection.json`` and ``docs/images/froc_detection.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import froc_common as fc  # noqa: E402
from froc_train_scorer import training_data  # noqa: E402

from mammocad._fileio import atomic_path, atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"calcification": {"fpi": 0.5, "sensitivity": 0.90}, "mass": {"fpi": 0.5, "sensitivity": 0.85}}


def mias_cross_validated(films: list, synthetic: list, folds: int, model: str, seed: int) -> list[list]:
    """Each film's candidates, ranked by a scorer that never saw its woman."""
    candidates: list[list] = [[] for _ in films]
    for test in fc.grouped_folds(films, folds, seed):
        held = set(test.tolist())
        train = [f for i, f in enumerate(films) if i not in held]
        scorer = fc.fit_scorer({k: [train, synthetic] for k in fc.KINDS}, model, seed, {})
        for i in test:
            candidates[i] = fc.film_candidates(films[i], scorer)
    return candidates


def synthetic_end_to_end(n: int, seed0: int) -> tuple[list, list]:
    """Films and ``detect_candidates`` output (shipped scorer, every candidate) on the test cohort."""
    from mammocad.segment import detect_candidates

    films = fc.synthetic_films(n, seed0)
    candidates = []
    for film, spec in zip(films, fc.synthetic_plan(n, seed0), strict=True):
        pixels, spacing, view, lesions = fc.synthetic_image(spec)
        film.lesions = lesions
        candidates.append(
            detect_candidates(pixels, pixel_spacing_mm=spacing, view=view, max_candidates=10_000)
        )
    return films, candidates


def normal_films(folder: Path) -> int:
    """Films marked NORM in Info.txt."""
    from mammocad.datasets.mias import read_mias_info

    info = read_mias_info(folder / "Info.txt")
    return int(info.loc[info["mias_class"] == "NORM", "film"].nunique())


def top(candidates: list[list], k: int) -> list[list]:
    return [c[:k] for c in candidates]


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, kind in zip(axes, fc.KINDS, strict=True):
        for name, style in (("mias", "-"), ("synthetic", "--")):
            res = results[name]["froc"][kind]
            curve = np.asarray(res["curve"])
            x = np.r_[curve[:, 0], res["max_fpi"]]
            y = np.r_[curve[:, 1], res["max_sensitivity"]]
            label = f"{'mini-MIAS (held out)' if name == 'mias' else 'synthetic'}: {res['lesions']} lesions"
            ax.step(np.maximum(x, 1e-3), y, where="post", linestyle=style, label=label)
        goal = GOALS[kind]
        ax.plot([goal["fpi"]], [goal["sensitivity"]], "k*", markersize=10, label="goal")
        for x in fc.FPI_POINTS:
            ax.axvline(x, color="0.85", linewidth=0.8, zorder=0)
        ax.set_xscale("log")
        ax.set_xlim(0.05, 20)
        ax.set_ylim(0, 1)
        ax.set_xlabel("false marks per image")
        ax.set_title("calcification clusters" if kind == "calcification" else "masses")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("sensitivity")
    fig.suptitle("FROC of detect_candidates")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    fc.add_common_arguments(parser)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=120, help="synthetic test images")
    parser.add_argument(
        "--synthetic-train", type=int, default=240, help="synthetic training images (as shipped)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/froc_detection.json")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs/images/froc_detection.png")
    args = parser.parse_args()
    mias = fc.mias_folder(parser, args.mias)

    from mammocad.segment.scoring import default_scorer

    shipped = default_scorer().provenance
    lo, hi = shipped.get("synthetic_seeds", [fc.SYNTHETIC_TRAIN_SEED, fc.SYNTHETIC_TRAIN_SEED])
    if not (hi < fc.SYNTHETIC_TEST_SEED or lo >= fc.SYNTHETIC_TEST_SEED + args.synthetic):
        parser.error("the shipped scorer was trained on synthetic test seeds")
    started = time.perf_counter()
    films, synthetic_train = training_data(mias, args.synthetic_train, fc.SYNTHETIC_TRAIN_SEED, args.cache)
    _, skipped = fc.mias_films(mias)
    mias_candidates = mias_cross_validated(films, synthetic_train, args.folds, args.model, args.seed)
    syn_films, syn_candidates = synthetic_end_to_end(args.synthetic, fc.SYNTHETIC_TEST_SEED)

    def block(name: str, films: list, candidates: list, note: str) -> dict:
        return {
            "what": note,
            "images": len(films),
            "images_without_lesion_circles": sum(1 for f in films if not f.lesions),
            "froc": fc.froc(films, candidates),
            "top10_per_film": {
                k: v["max_sensitivity"] for k, v in fc.froc(films, top(candidates, 10)).items()
            },
        }

    results = {
        "benchmark": "froc_detection",
        "command": "OMP_NUM_THREADS=1 MAMMOCAD_DATA=../shared/data python benchmarks/froc_detection.py "
        f"--folds {args.folds} --synthetic {args.synthetic} --synthetic-train {args.synthetic_train} "
        f"--model {args.model} --seed {args.seed}",
        "platform": platform.platform(),
        "hit_rule": "a candidate of the lesion's kind whose centre lies in the lesion's circle; a false mark "
        "is a candidate in no annotated circle (any abnormality), counted per kind",
        "goals": GOALS,
        "mias": {
            **block(
                "mias",
                films,
                mias_candidates,
                f"all mini-MIAS films, view not given; {args.folds}-fold patient-grouped cross-validation "
                "of the scorer (trained as shipped on the other folds + the synthetic training cohort)",
            ),
            "left_out": skipped,
            "normal_films": normal_films(mias),
        },
        "synthetic": block(
            "synthetic",
            syn_films,
            syn_candidates,
            f"make_case seeds {fc.SYNTHETIC_TEST_SEED}-{fc.SYNTHETIC_TEST_SEED + args.synthetic - 1} "
            "(no scorer trained on them), detect_candidates with the shipped scorer",
        ),
        "shipped_scorer": shipped,
    }
    for name in ("mias", "synthetic"):
        for kind, goal in GOALS.items():
            got = results[name]["froc"][kind]["sensitivity_at_fpi"][str(goal["fpi"])]
            results[name]["froc"][kind]["goal_met"] = got >= goal["sensitivity"]
            results[name]["froc"][kind]["short_of_goal_by"] = round(max(goal["sensitivity"] - got, 0.0), 4)
    figure(results, args.figure)
    results["figure"] = (
        str(args.figure.relative_to(ROOT)) if args.figure.is_relative_to(ROOT) else str(args.figure)
    )
    results["elapsed_s"] = time.perf_counter() - started
    atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    summary = {
        name: {kind: results[name]["froc"][kind]["sensitivity_at_fpi"] for kind in fc.KINDS}
        for name in ("mias", "synthetic")
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
