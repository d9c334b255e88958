"""Train the candidate scorer of ``detect_candidates`` (writes its JSON into the package).

Training data (see ``froc_common.py`` for the data sets and the hit rule):

- every mini-MIAS film (322; ``MAMMOCAD_DATA`` or ``--mias``);
- a synthetic training cohort: ``--synthetic`` images from ``make_case(seed0 + i)``,
  seeds ``--synthetic-seed`` onwards (20000-20239 by default; the FROC benchmark's
  synthetic test cohort starts at 30000).

A proposal whose centre lies in a lesion circle of its kind is a positive, one in no
annotated circle a negative; proposals on another abnormality are left out. Each
data set weighs the same, and within it lesions and false marks weigh the same.
One gradient-boosted tree model per kind (scikit-learn), exported as plain arrays.
Deterministic for a given seed and data.

Usage::

    OMP_NUM_THREADS=1 MAMMOCAD_DATA=../shared/data python benchmarks/froc_train_scorer.py
    python benchmarks/froc_train_scorer.py --cache /tmp/props    # reuse proposals between runs

Writes ``src/mammocad/segment/data/candidate_scorer.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import froc_common as fc  # noqa: E402

from mammocad.segment.scoring import save_scorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def training_data(mias: Path, n_synthetic: int, synthetic_seed: int, cache: Path | None) -> tuple[list, list]:
    """(mini-MIAS films, synthetic training films), their proposals filled in."""
    digest = fc.source_digest()
    films, _ = fc.mias_films(mias)
    for film in films:
        fc.proposals_for(film, lambda f: (*fc.mias_image(mias, f), None), cache, digest)
    synthetic = fc.synthetic_films(n_synthetic, synthetic_seed)
    plan = {f"synth{s['seed']}": s for s in fc.synthetic_plan(n_synthetic, synthetic_seed)}
    for film in synthetic:
        fc.proposals_for(film, lambda f: fc.synthetic_image(plan[f.name]), cache, digest)
    return films, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    fc.add_common_arguments(parser)
    parser.add_argument("--synthetic", type=int, default=240, help="synthetic training images")
    parser.add_argument("--synthetic-seed", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=ROOT / "src/mammocad/segment/data/candidate_scorer.json")
    args = parser.parse_args()
    mias = fc.mias_folder(parser, args.mias)
    if (
        args.synthetic_seed + args.synthetic > fc.SYNTHETIC_TEST_SEED
        and args.synthetic_seed < fc.SYNTHETIC_TEST_SEED + 10_000
    ):
        parser.error(
            f"synthetic training seeds must stay clear of the test cohort's ({fc.SYNTHETIC_TEST_SEED}+)"
        )
    started = time.perf_counter()
    films, synthetic = training_data(mias, args.synthetic, args.synthetic_seed, args.cache)
    command = (
        "OMP_NUM_THREADS=1 MAMMOCAD_DATA=../shared/data python benchmarks/froc_train_scorer.py "
        f"--synthetic {args.synthetic} --synthetic-seed {args.synthetic_seed} --model {args.model} --seed {args.seed}"
    )
    provenance = {
        "what": "candidate scorer of detect_candidates",
        "command": command,
        "data": {
            "mias": f"all {len(films)} mini-MIAS films",
            "synthetic": f"mammocad.synth.make_case seeds {args.synthetic_seed}-{args.synthetic_seed + args.synthetic - 1}",
        },
        "synthetic_seeds": [args.synthetic_seed, args.synthetic_seed + args.synthetic - 1],
        "proposal_code": fc.source_digest(),
    }
    scorer = fc.fit_scorer({k: [films, synthetic] for k in fc.KINDS}, args.model, args.seed, provenance)
    save_scorer(scorer, args.out)
    print(
        json.dumps(
            {"out": str(args.out), **scorer.provenance, "elapsed_s": time.perf_counter() - started}, indent=2
        )
    )


if __name__ == "__main__":
    main()
