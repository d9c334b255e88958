"""Measuring on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes on loopback.

The one-process table is the reference: the cluster must give the same table. A
scheduler killed mid-run ends the run with one clear error, the rows measured
before are kept, and the same command on a new scheduler resumes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import mammocad.pipeline.measure as measure_module
from mammocad.datasets import read_lesion_table
from mammocad.parallel import SchedulerLostError
from mammocad.pipeline import measure_lesion_table
from mammocad.synth import make_cohort

DASK = Path(sys.executable).with_name("dask")


class Cluster:
    """A scheduler and two single-threaded workers, started as a user would start them."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        self.scheduler = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
        )
        self.workers = [
            subprocess.Popen(
                [str(DASK), "worker", self.address, "--nthreads", "1", "--no-dashboard"], **quiet
            )
            for _ in range(2)
        ]
        from distributed import Client

        with Client(self.address, timeout="60s") as client:  # retries until the scheduler listens
            client.wait_for_workers(2, timeout=120)

    def kill_scheduler(self) -> None:
        self.scheduler.kill()
        self.scheduler.wait()

    def stop(self) -> None:
        for process in (*self.workers, self.scheduler):
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for this module: the first test uses it, the second kills its scheduler."""
    if not DASK.is_file():
        pytest.skip(f"no dask command next to {sys.executable}")
    started = Cluster()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def lesions(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("cohort")
    make_cohort(4, root, seed=2, size=384, pixel_spacing_mm=0.2)
    return read_lesion_table(root / "lesions.csv")


@pytest.fixture(scope="module")
def one_process(lesions: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return measure_lesion_table(lesions, tmp_path_factory.mktemp("local") / "f.parquet", progress=False)


@pytest.mark.slow
def test_scheduler_and_two_workers_give_the_one_process_table(
    cluster: Cluster, lesions: pd.DataFrame, one_process: pd.DataFrame, tmp_path: Path
) -> None:
    table = measure_lesion_table(lesions, tmp_path / "f.parquet", scheduler=cluster.address, progress=False)
    assert table.attrs["computed"] == len(lesions)
    pd.testing.assert_frame_equal(table, one_process)


@pytest.mark.slow
def test_a_scheduler_dying_mid_run_gives_one_error_and_the_rerun_resumes(
    cluster: Cluster,
    lesions: pd.DataFrame,
    one_process: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = measure_module.map_completed

    def kill_after_first(*args, **kwargs):
        for k, pair in enumerate(real(*args, **kwargs)):
            yield pair
            if k == 0:  # the first image is in: the scheduler goes away
                cluster.kill_scheduler()

    monkeypatch.setattr(measure_module, "map_completed", kill_after_first)
    out = tmp_path / "f.parquet"
    with pytest.raises(
        SchedulerLostError, match=r"lost the Dask scheduler at tcp://127\.0\.0\.1:\d+"
    ) as info:
        measure_lesion_table(lesions, out, scheduler=cluster.address, progress=False, chunk_size=1)
    message = str(info.value)
    assert "rerun the same command" in message and str(out) in message and "\n" not in message
    saved = pd.read_parquet(out)
    assert 1 <= len(saved) < len(lesions)

    monkeypatch.setattr(measure_module, "map_completed", real)
    cluster.stop()  # its workers too
    again = Cluster()  # a new scheduler and workers, at a new address
    try:
        table = measure_lesion_table(lesions, out, scheduler=again.address, progress=False)
    finally:
        again.stop()
    assert table.attrs["resumed"] == len(saved)
    assert table.attrs["computed"] == len(lesions) - len(saved)
    pd.testing.assert_frame_equal(table, one_process)
