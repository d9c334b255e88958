"""One code path for local and Dask execution of batch work."""

from __future__ import annotations

import math

import pytest

from mammocad import parallel
from mammocad.errors import MammocadError
from mammocad.parallel import map_completed


def test_local_runs_every_item_in_order():
    assert list(map_completed(math.sqrt, [4.0, 9.0, 16.0])) == [(0, 2.0), (1, 3.0), (2, 4.0)]
    assert list(map_completed(math.sqrt, [1.0], workers=1, progress=True)) == [(0, 1.0)]
    assert list(map_completed(math.sqrt, [])) == []


def test_local_errors_propagate():
    with pytest.raises(ValueError):
        list(map_completed(math.sqrt, [1.0, -1.0]))


@pytest.mark.parametrize(
    ("workers", "scheduler", "match"),
    [
        (0, None, "workers"),
        (-2, None, "workers"),
        (1.5, None, "workers"),
        (True, None, "workers"),
        (2, "tcp://x:1", "not both"),
        (None, "localhost", "address"),
    ],
)
def test_bad_execution_arguments(workers, scheduler, match):
    with pytest.raises(MammocadError, match=match):
        list(map_completed(math.sqrt, [1.0], workers=workers, scheduler=scheduler))


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(parallel, "SCHEDULER_TIMEOUT_S", 1.0)
    with pytest.raises(MammocadError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(map_completed(math.sqrt, [1.0], scheduler="tcp://127.0.0.1:9"))


def test_local_dask_cluster_gives_the_same_results():
    items = [float(k) for k in range(12)]
    results = dict(map_completed(math.sqrt, items, workers=2))
    assert results == {k: math.sqrt(v) for k, v in enumerate(items)}
