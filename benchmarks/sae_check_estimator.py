"""scikit-learn's ``check_estimator`` on the stacked denoising autoencoder.

Runs every check scikit-learn applies to a classifier on
``StackedDenoisingAutoencoderClassifier`` (small, fast settings: one hidden layer
of 16 units, 2 pre-training epochs, at most 40 fine-tuning epochs) and records the
status of each: passed, skipped (with the reason) or failed (with the message).

    OMP_NUM_THREADS=1 python benchmarks/sae_check_estimator.py

Writes benchmarks/results/sae_check_estimator.json.
"""

from __future__ import annotations

import collections
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    import sklearn
    from sklearn.utils.estimator_checks import check_estimator

    from mammocad._fileio import atomic_write_text
    from mammocad.models import StackedDenoisingAutoencoderClassifier

    params = dict(
        hidden_layer_sizes=(16,), pretrain_epochs=2, finetune_epochs=40, learning_rate=0.02, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(StackedDenoisingAutoencoderClassifier(**params), on_fail=None)
    checks = [
        {
            "check": r["check_name"],
            "status": r["status"],
            "reason": None
            if r["exception"] is None
            else f"{type(r['exception']).__name__}: {r['exception']}"[:300],
        }
        for r in results
    ]
    summary = dict(collections.Counter(c["status"] for c in checks))
    out = {"sklearn": sklearn.__version__, "estimator_params": params, "summary": summary, "checks": checks}
    atomic_write_text(
        ROOT / "benchmarks" / "results" / "sae_check_estimator.json", json.dumps(out, indent=2) + "\n"
    )
    print(json.dumps(summary))
    for c in checks:
        if c["status"] != "passed":
            print(c["check"], c["status"], c["reason"])
    return 0 if summary.get("failed", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
