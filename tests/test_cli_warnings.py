"""The command line shows Python warnings as clean ``warning:`` lines, each text once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

import mammocad.pipeline
from mammocad.cli import app
from mammocad.errors import MammocadError


def test_library_warnings_become_one_line_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def noisy_train(*args: object, **kwargs: object) -> None:
        for _ in range(3):
            warnings.warn("only 3 patients in the smallest class:\n  using 3-fold", UserWarning, stacklevel=1)
        np.log(np.zeros(1))  # a NumPy RuntimeWarning
        raise MammocadError("stopped here")

    monkeypatch.setattr(mammocad.pipeline, "train", noisy_train)
    result = CliRunner().invoke(app, ["train", "features.parquet", "--model", "lda", "--out", "model"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "warning: only 3 patients in the smallest class: using 3-fold",
        "warning: divide by zero encountered in log",
        "error: stopped here",
    ]
