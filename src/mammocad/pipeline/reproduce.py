"""The experiment journeys: reproduce the paper on a table, and the demo.

:func:`reproduce` is what ``mammocad reproduce`` does (features measured and
cached → :func:`~mammocad.evaluation.run_experiment` → overlays →
:func:`~mammocad.report.write_report`); :func:`run_demo` is what ``mammocad demo``
does (a synthetic cohort, and mini-MIAS when available).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mammocad._fileio import atomic_write_text
from mammocad.datasets import ABNORMALITIES, finite_or_none, lesion_frame, load_mias, read_lesion_table
from mammocad.errors import DatasetError, MammocadError
from mammocad.features.table import read_feature_table, require_feature_set
from mammocad.pipeline.lesion import analysis_grid
from mammocad.pipeline.measure import lesion_roi, measure_lesion_table
from mammocad.pipeline.spacing import read_image
from mammocad.segment import render_overlay
from mammocad.segment.lesion import segment_lesion

if TYPE_CHECKING:
    from mammocad.evaluation.experiment import ExperimentResult
    from mammocad.report.html import Overlay

# The experiment, model and report stages (scikit-learn, PyTorch, matplotlib) are
# imported by the journeys that use them, so that measuring a table stays light.

__all__ = [
    "load_features",
    "lesion_overlays",
    "reproduce",
    "experiment_scenarios",
    "run_demo",
    "demo_grids",
    "ReproduceRun",
    "FEATURE_CACHE",
    "MIAS_EXPERIMENT_ABNORMALITIES",
]

#: Name of the feature cache written into the output folder.
FEATURE_CACHE = "features.parquet"


def demo_grids() -> dict[str, dict[str, list[Any]]]:
    """The demo's reduced grids: the SAE at the paper's (200, 200) with one noise level.

    The SAE dominates the run time; the other models keep their full
    :func:`mammocad.models.param_grid` (they fit in milliseconds).

    Examples
    --------
    >>> demo_grids()["sae"]["clf__hidden_layer_sizes"]
    [(200, 200)]
    """
    from mammocad.models import MODEL_NAMES, param_grid

    grids = {name: param_grid(name) for name in MODEL_NAMES}
    sae = grids.get("sae", {})
    for key, values in sae.items():
        if key.endswith("hidden_layer_sizes"):
            sae[key] = [v for v in values if tuple(v) == (200, 200)] or values[:1]
        else:
            sae[key] = values[:1]
    return grids


@dataclass(frozen=True)
class ReproduceRun:
    """What :func:`reproduce` produced.

    Attributes
    ----------
    result : ExperimentResult
    report : Path
        ``report.html``.
    features : DataFrame
        The feature table the experiment ran on.
    lesions : DataFrame or None
        The lesion table, when the input was one.
    """

    result: ExperimentResult
    report: Path
    features: pd.DataFrame
    lesions: pd.DataFrame | None


def _looks_like_lesion_table(columns: Sequence[str]) -> bool:
    return "image_path" in columns


def _only(table: pd.DataFrame, abnormalities: Sequence[str] | None, where: str) -> pd.DataFrame:
    """The rows of the given abnormalities (all rows for None)."""
    if abnormalities is None:
        return table
    kept = table[table["abnormality"].astype(str).isin(list(abnormalities))].reset_index(drop=True)
    if kept.empty:
        raise DatasetError(f"{where}: no lesion is a {' or '.join(abnormalities)} (--abnormality)")
    return kept


def _check_abnormalities(abnormalities: Sequence[str] | None) -> tuple[str, ...] | None:
    if abnormalities is None:
        return None
    names = tuple(str(a).strip().lower() for a in abnormalities)
    unknown = [a for a in names if a not in ABNORMALITIES]
    if unknown or not names:
        raise DatasetError(
            f"--abnormality: unknown abnormality {', '.join(unknown) or '(none)'}; "
            f"expected some of {', '.join(ABNORMALITIES)}"
        )
    return names


def load_features(
    data: str | os.PathLike[str] | pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    progress: bool = True,
    pixel_spacing_mm: float | None = None,
    abnormalities: Sequence[str] | None = None,
    feature_set: str = "paper",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A feature table from a lesion table (features measured, cached) or a feature table.

    Parameters
    ----------
    data : path or DataFrame
        A lesion table (CSV, or a DataFrame with ``image_path``): the features
        are measured with :func:`~mammocad.pipeline.measure_lesion_table` into
        ``out_dir/features.parquet``, and a rerun reuses what is there. Or a
        feature table (``.parquet`` / ``.csv`` with the feature columns).
    out_dir : path
    workers : int, optional
        Local Dask workers for the extraction.
    progress : bool
    pixel_spacing_mm : float, optional
        ``--pixel-spacing``: for images whose file and table row give none.
    abnormalities : sequence of str, optional
        Keep only these kinds of lesion (``--abnormality calcification,mass``:
        the paper's; mini-MIAS also lists distortions and asymmetries).
    feature_set : {"paper", "extended"}
        Which features to measure from a lesion table.

    Returns
    -------
    features : DataFrame
    lesions : DataFrame or None
        The lesion table when ``data`` was one.

    Raises
    ------
    DatasetError
        The file is missing or is neither kind of table, or no lesion is of the
        abnormalities asked for.
    """
    kinds = _check_abnormalities(abnormalities)
    lesions: pd.DataFrame | None
    if isinstance(data, pd.DataFrame):
        if not _looks_like_lesion_table(list(data.columns)):
            return _only(data, kinds, "feature table"), None
        lesions = lesion_frame(data.to_dict(orient="records"), source="lesion table")  # type: ignore[arg-type]
        where = "lesion table"
    else:
        path = Path(data)
        where = str(path)
        if not path.is_file():
            raise DatasetError(f"{path}: no such file (expected a lesion table CSV or a feature table)")
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return _only(read_feature_table(path), kinds, where), None
        if suffix != ".csv":
            raise DatasetError(f"{path}: expected a .csv lesion table or a .parquet/.csv feature table")
        try:
            header = list(pd.read_csv(path, nrows=0).columns)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path}: cannot read the table header ({exc})") from None
        if not _looks_like_lesion_table(header):
            return _only(read_feature_table(path), kinds, where), None
        lesions = read_lesion_table(path)
    lesions = _only(lesions, kinds, where)
    cache = Path(out_dir) / FEATURE_CACHE
    table = measure_lesion_table(
        lesions,
        cache,
        workers=workers,
        progress=progress,
        pixel_spacing_mm=pixel_spacing_mm,
        feature_set=feature_set,
    )
    wanted = set(lesions["lesion_id"].astype(str))
    table = table[table["lesion_id"].astype(str).isin(wanted)].reset_index(drop=True)
    if table.empty:
        raise DatasetError("no lesion of the lesion table could be measured (see the warnings)")
    return table, lesions


def lesion_overlays(
    result: ExperimentResult, lesions: pd.DataFrame, *, n: int = 4, pixel_spacing_mm: float | None = None
) -> list[Overlay]:
    """Segmentation overlays of a few test lesions (half malignant where possible).

    Each lesion is segmented exactly as it was measured: its image read and
    brought to the analysis grid (:func:`~mammocad.pipeline.analysis_grid`), its
    ROI segmented once (:func:`mammocad.segment.segment_lesion`), and drawn on
    that grid (calcifications for a calcification, the mass contour otherwise).

    Parameters
    ----------
    result : ExperimentResult
        Gives the test lesions and their labels.
    lesions : DataFrame
        The lesion table the features were measured from.
    n : int, default 4
    pixel_spacing_mm : float, optional
        ``--pixel-spacing``, as the features were measured with.

    Returns
    -------
    list of Overlay
        Lesions whose image or ROI cannot be read or segmented are left out.
    """
    from mammocad.report.html import Overlay

    if n <= 0:
        return []
    test = result.split.loc[result.split["split"] == "test", ["lesion_id", "label"]]
    table = lesions.assign(lesion_id=lesions["lesion_id"].astype(str)).merge(test, on="lesion_id")
    picks = pd.concat(
        [table[table["label"] == 1].head((n + 1) // 2), table[table["label"] == 0].head(n // 2)]
    ).head(n)
    out = []
    for record in picks.to_dict(orient="records"):
        try:
            image = read_image(
                record["image_path"],
                table_mm=finite_or_none(record.get("pixel_spacing_mm")),
                option_mm=pixel_spacing_mm,
                nominal_mm=finite_or_none(record.get("nominal_pixel_spacing_mm")),
            )
            grid = analysis_grid(image)
            roi = lesion_roi(record, image.shape).scaled(grid.scale / image.scale)
            seg = segment_lesion(grid.pixels, roi, pixel_spacing_mm=float(grid.pixel_spacing_mm or 0))
            is_mass = record["abnormality"] == "mass"
            rgb = render_overlay(
                grid.pixels,
                roi,
                calcifications=None if is_mass else seg.calcifications(),
                mass=seg.mass() if is_mass else None,
            )
        except MammocadError:
            continue
        label = "malignant" if record["label"] == 1 else "benign"
        caption = f"{record['lesion_id']}: {record['abnormality']}, {label}"
        out.append(Overlay(str(record["lesion_id"]), caption, rgb))
    return out


def _selector(grids: Mapping[str, dict[str, list[Any]]] | None, bar: Any = None) -> Any:
    """``select_model`` with the given grids, moving ``bar`` (a tqdm bar) at every fit."""
    from mammocad.models import select_model

    @functools.wraps(select_model)
    def select(name: str, X: Any, y: Any, groups: Any, **kwargs: Any) -> Any:
        if bar is not None:
            bar.set_postfix_str(name)
        grid = None if grids is None else grids.get(name)
        return select_model(
            name, X, y, groups, grid=grid, on_fit=None if bar is None else bar.update, **kwargs
        )

    return select


def _total_fits(
    scenarios: Sequence[str],
    models: Sequence[str] | None,
    n_splits: int,
    grids: Mapping[str, dict[str, list[Any]]] | None,
) -> int | None:
    """Cross-validation fits of an experiment (the progress bar's length), or None if unknown."""
    from mammocad.models import MODEL_NAMES, n_fits

    names = list(MODEL_NAMES) if models is None else [m for m in models if m in MODEL_NAMES]
    if models is not None and len(names) != len(models):
        return None  # run_experiment names the unknown model
    return len(scenarios) * sum(n_fits(m, n_splits, None if grids is None else grids.get(m)) for m in names)


def reproduce(
    data: str | os.PathLike[str] | pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    scenarios: Sequence[str] = ("calcification", "mass", "combined"),
    feature_set: str = "paper",
    models: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    split_column: str | None = None,
    seed: int = 0,
    n_splits: int = 10,
    n_bootstrap: int = 2000,
    grids: Mapping[str, dict[str, list[Any]]] | None = None,
    workers: int | None = None,
    progress: bool = True,
    dataset_name: str = "",
    links: Mapping[str, str] | None = None,
    n_overlays: int = 4,
    pixel_spacing_mm: float | None = None,
    abnormalities: Sequence[str] | None = None,
) -> ReproduceRun:
    """Features (cached) → :func:`~mammocad.evaluation.run_experiment` → :func:`write_report`.

    Parameters
    ----------
    data : path or DataFrame
        Lesion table or feature table (see :func:`load_features`).
    out_dir : path
        Receives ``features.parquet`` (lesion-table input), ``results.json``,
        ``results.csv``, ``predictions.csv``, ``split.csv``, the figures and
        ``report.html``.
    scenarios, models, test_fraction, split_column, seed, n_splits, n_bootstrap
        As in :func:`~mammocad.evaluation.run_experiment`.
    feature_set : {"paper", "extended"}
        ``"extended"``: the features are measured with the extended set too, and each
        scenario it adds features to is run a second time with them, beside the
        paper's (:func:`experiment_scenarios`: ``mass_extended``, ``combined_extended``).
    grids : mapping, optional
        Model name → hyper-parameter grid replacing
        :func:`mammocad.models.param_grid` (e.g. :func:`demo_grids`).
    workers : int, optional
        Dask workers for the feature extraction.
    progress : bool
    dataset_name : str
        Shown in the report.
    links : mapping of str to str, optional
        Extra links in the report.
    n_overlays : int, default 4
        Segmentation overlays of test lesions (lesion-table input only;
        :func:`lesion_overlays`).
    pixel_spacing_mm : float, optional
        ``--pixel-spacing`` (see :func:`load_features`).
    abnormalities : sequence of str, optional
        ``--abnormality``: the kinds of lesion to study (see :func:`load_features`).

    Returns
    -------
    ReproduceRun
    """
    from mammocad.evaluation.experiment import run_experiment
    from mammocad.report.html import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = experiment_scenarios(scenarios, feature_set)
    features, lesions = load_features(
        data,
        out,
        workers=workers,
        progress=progress,
        pixel_spacing_mm=pixel_spacing_mm,
        abnormalities=abnormalities,
        feature_set=feature_set,
    )
    if feature_set != "paper":
        wanted = dict.fromkeys(c for names in columns.values() for c in names)
        require_feature_set(features, list(wanted), feature_set, where=str(data))
    from tqdm.auto import tqdm

    total = _total_fits(list(columns), models, n_splits, grids)
    with tqdm(total=total, desc="experiment", unit="fit", disable=not progress, delay=0.5) as bar:
        result = run_experiment(
            features,
            out,
            scenarios=columns,
            models=models,
            test_fraction=test_fraction,
            split_column=split_column,
            seed=seed,
            n_splits=n_splits,
            n_bootstrap=n_bootstrap,
            select=_selector(grids, bar if progress else None),
            progress=False,  # the bar above moves with every fit, not every model
        )
    overlays = (
        lesion_overlays(result, lesions, n=n_overlays, pixel_spacing_mm=pixel_spacing_mm)
        if lesions is not None
        else []
    )
    report = write_report(result, out, overlays=overlays, dataset_name=dataset_name, links=links)
    return ReproduceRun(result, report, features, lesions)


def experiment_scenarios(scenarios: Sequence[str], feature_set: str = "paper") -> dict[str, list[str]]:
    """The paper's scenarios, and beside each the same scenario with the set's further features.

    Parameters
    ----------
    scenarios : sequence of {"calcification", "mass", "combined"}
    feature_set : {"paper", "extended"}

    Returns
    -------
    dict
        Scenario name → feature columns: each scenario in the paper's set, and right
        after it, for ``feature_set="extended"``, ``<scenario>_extended`` wherever the
        extended set adds columns (not ``calcification``: the margin features are mass
        features).

    Raises
    ------
    FeatureError
        For an unknown scenario or feature set.

    See Also
    --------
    reproduce : runs them side by side on one split, in one report.

    Examples
    --------
    >>> {k: len(v) for k, v in experiment_scenarios(["mass", "combined"], "extended").items()}
    {'mass': 26, 'mass_extended': 33, 'combined': 41, 'combined_extended': 48}
    """
    from mammocad.features.registry import scenario_columns

    if isinstance(scenarios, str):
        scenarios = [scenarios]
    out: dict[str, list[str]] = {}
    for name in scenarios:
        out[name] = scenario_columns(name)
        columns = scenario_columns(name, feature_set)
        if columns != out[name]:
            out[f"{name}_{feature_set}"] = columns
    return out


def _check_same_cohort(data: Path, cohort: dict[str, object]) -> None:
    """Refuse to reuse a cohort (and its feature cache) made with other parameters."""
    record = data / "cohort.json"
    try:
        made = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        made = None
    wanted = json.loads(json.dumps(cohort, sort_keys=True, default=repr))
    if made != wanted:
        raise MammocadError(
            f"{data} holds a synthetic cohort made with other parameters "
            f"({made if made is not None else 'unrecorded'}; asked for {wanted}): "
            "use another --out folder or delete this one"
        )


#: mini-MIAS lesions the experiment uses: the paper studies calcifications and masses.
MIAS_EXPERIMENT_ABNORMALITIES = ("calcification", "mass")


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    n: int = 96,
    seed: int = 0,
    mias_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
    n_splits: int = 5,
    n_bootstrap: int = 500,
    models: Sequence[str] | None = None,
    cohort_options: Mapping[str, Any] | None = None,
) -> dict[str, ReproduceRun]:
    """The whole pipeline on a synthetic cohort, and on mini-MIAS when given.

    Writes ``out_dir/data`` (the cohort, :func:`mammocad.synth.make_cohort`),
    the experiment and ``out_dir/report.html``; with ``mias_dir``, also
    ``out_dir/mias/report.html``, linked from the first. Uses the reduced
    :func:`demo_grids`, ``n_splits`` folds and ``n_bootstrap`` resamples so that
    it ends in a few minutes on two cores; ``mammocad reproduce`` runs the full
    protocol.

    Parameters
    ----------
    out_dir : path
    n : int, default 96
        Synthetic images (pairs of views of one patient).
    seed : int, default 0
        Seeds the cohort and the experiment.
    mias_dir : path, optional
        mini-MIAS folder (``Info.txt`` + images).
    workers : int, optional
    progress : bool
    n_splits : int, default 5
    n_bootstrap : int, default 500
    models : sequence of str, optional
        Default: the paper's four and the extra baseline.
    cohort_options : mapping, optional
        Extra keyword arguments of :func:`mammocad.synth.make_cohort` (e.g.
        ``size``, ``pixel_spacing_mm``).

    Returns
    -------
    dict of str to ReproduceRun
        ``"synthetic"`` and, with ``mias_dir``, ``"mias"``.
    """
    from mammocad.synth import make_cohort

    if not isinstance(n, int) or n < 12:
        raise MammocadError(
            f"n must be an integer >= 12 (a balanced cohort needs two blocks of six), got {n!r}"
        )
    out = Path(out_dir)
    data = out / "data"
    table_path = data / "lesions.csv"
    options = dict(cohort_options or {})
    cohort = {"n": n, "seed": seed, "options": options}
    if not table_path.is_file():
        make_cohort(n, data, seed=seed, progress=progress, **options)
        atomic_write_text(data / "cohort.json", json.dumps(cohort, sort_keys=True, default=repr))
    else:
        _check_same_cohort(data, cohort)
    runs: dict[str, ReproduceRun] = {}
    common = dict(
        seed=seed,
        models=models,
        n_splits=n_splits,
        n_bootstrap=n_bootstrap,
        grids=demo_grids(),
        workers=workers,
        progress=progress,
    )
    links = {}
    if mias_dir is not None:
        # The paper's lesions (calcifications and masses); those without coordinates
        # (a few in Info.txt) cannot be segmented.
        mias_lesions = load_mias(mias_dir, abnormalities=MIAS_EXPERIMENT_ABNORMALITIES, with_roi=True)
        runs["mias"] = reproduce(
            mias_lesions,
            out / "mias",
            dataset_name="mini-MIAS",
            links={"synthetic cohort report": "../report.html"},
            **common,  # type: ignore[arg-type]
        )
        links["mini-MIAS report"] = "mias/report.html"
    runs["synthetic"] = reproduce(
        table_path,
        out,
        dataset_name=f"synthetic cohort (n = {n}, seed {seed})",
        links=links,
        **common,  # type: ignore[arg-type]
    )
    return runs
