"""The ``mammocad`` command line: thin commands over the library.

Every command has ``--help``; long work shows a progress bar unless ``--quiet``;
bad input ends the command with exit code 1 and a one-line ``error: ...`` on
standard error (the message names the file, row or argument at fault).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mammocad.errors import MammocadError

app = typer.Typer(
    name="mammocad",
    help="Computer-aided diagnosis of breast lesions on mammograms (Wang et al. 2016, reproduced).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
manifest_app = typer.Typer(
    help="Write a lesion table (one row per lesion) from a dataset.", no_args_is_help=True
)
app.add_typer(manifest_app, name="manifest")

F = TypeVar("F", bound=Callable[..., Any])

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
FeatureSet = Annotated[
    str,
    typer.Option(
        "--feature-set",
        help="paper (the 41) or extended (the 41 and the 7 mass-margin features).",
    ),
]


def _spacing(value: float | None) -> float | None:
    """Option check: a plausible pixel edge in mm (``mammocad.io.PIXEL_SPACING_RANGE_MM``)."""
    if value is None:
        return None
    from mammocad.errors import MammocadError
    from mammocad.io import check_pixel_spacing

    try:
        return check_pixel_spacing(value, where="given pixel spacing")
    except MammocadError as exc:
        raise typer.BadParameter(str(exc)) from None


PixelSpacing = Annotated[
    float | None,
    typer.Option(
        "--pixel-spacing",
        help="Pixel edge in mm where the file (and the lesion table's pixel_spacing_mm) gives none.",
        callback=_spacing,
    ),
]
#: Skipped lesions named one by one on standard error before the rest are counted.
SKIPPED_SHOWN = 10


#: Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "MAMMOCAD_DEBUG"


def _one_line(text: object, limit: int = 500) -> str:
    """``text`` on one line (whitespace runs collapsed), cut at ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fail(message: object, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (one line) on stderr; return the :class:`typer.Exit` to raise."""
    typer.echo(f"error: {_one_line(message)}", err=True)
    return typer.Exit(code=code)


def guarded(func: F) -> F:
    """Turn any error into one ``error: ...`` line on stderr and exit code 1 (130 on Ctrl+C).

    :class:`MammocadError` and ``OSError`` messages name the file, row or option at
    fault. Anything else is a defect of mammocad: it is summarised in one line as
    well (its type and message; the traceback with ``MAMMOCAD_DEBUG=1``), so that
    no traceback reaches a user.
    """
    import os

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except MammocadError as exc:
            raise fail(exc) from None
        except OSError as exc:
            # The file system said no (permissions, a full disk, a folder where a file
            # should be): the message names the path.
            raise fail(exc) from None
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None
        except MemoryError:
            raise fail(
                f"{func.__name__}: out of memory; the input is too large for this computer's memory"
            ) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            raise fail(
                f"{func.__name__}: unexpected {type(exc).__name__}: {exc} "
                f"(a defect of mammocad; run with {DEBUG_ENV}=1 for the traceback and report it)"
            ) from None

    return wrapper  # type: ignore[return-value]


def _seed(value: int) -> int:
    """Option check: a seed NumPy accepts."""
    if not 0 <= value < 2**32:
        raise typer.BadParameter(f"a seed is a whole number from 0 to {2**32 - 1}, got {value}")
    return value


def _jobs(value: int) -> int:
    """Option check: scikit-learn's n_jobs (1, 2, ... or -1 for every core), never 0."""
    if value == 0:
        raise typer.BadParameter("0 runs nothing; give 1 or more, or -1 for one per CPU core")
    return value


def warnings_as_lines() -> None:
    """Show every Python warning as one ``warning: ...`` line on stderr, each text once.

    Libraries warn with a file name, a line number and a category (``UserWarning:``,
    ``ConvergenceWarning:`` ...), sometimes over several lines and many times over;
    a user of the command line sees the message only, once.
    """
    import warnings

    seen: set[str] = set()

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:  # fmt: skip
        text = " ".join(str(message).split())
        if text and text not in seen:
            seen.add(text)
            typer.echo(f"warning: {text}", err=True)

    warnings.showwarning = show


@app.callback()
def _every_command() -> None:
    # Runs before any command (not for --help).
    warnings_as_lines()


def say(message: str, quiet: bool) -> None:
    """Print a summary line unless ``--quiet``."""
    if not quiet:
        typer.echo(message)


# --- version -------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the versions of mammocad and the libraries it computes with."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    from mammocad import __version__

    typer.echo(f"mammocad {__version__}")
    for package in ("numpy", "scipy", "scikit-image", "scikit-learn", "pydicom", "torch", "pandas", "dask"):
        try:
            typer.echo(f"{package} {package_version(package)}")
        except PackageNotFoundError:
            typer.echo(f"{package} (not installed)")


# --- manifest (issue 2: datasets) ----------------------------------------------------

ManifestOut = Annotated[
    Path, typer.Option("--out", "-o", help="Lesion table to write (CSV, one row per lesion).", dir_okay=False)
]


def _write_manifest(table: Any, out: Path, quiet: bool) -> None:
    from mammocad.datasets import summarise, write_lesion_table

    write_lesion_table(table, out)
    say(f"wrote {out}: {summarise(table)}", quiet)


@manifest_app.command("mias")
@guarded
def manifest_mias(
    directory: Annotated[Path, typer.Argument(help="mini-MIAS folder: Info.txt + mdbNNN.pgm or .png.")],
    out: ManifestOut,
    quiet: Quiet = False,
) -> None:
    """Lesion table of mini-MIAS (y flipped to a top-left origin; NORM films skipped)."""
    from mammocad.datasets import load_mias

    _write_manifest(load_mias(directory), out, quiet)


@manifest_app.command("cbis-ddsm")
@guarded
def manifest_cbis_ddsm(
    tables: Annotated[list[Path], typer.Argument(help="CBIS-DDSM *_case_description_*_set.csv files.")],
    images: Annotated[
        Path, typer.Option("--images", help="Folder holding the TCIA series folders (Calc-Training_P_...).")
    ],
    out: ManifestOut,
    quiet: Quiet = False,
) -> None:
    """Lesion table of CBIS-DDSM; ROIs from the ROI mask files where present."""
    from mammocad.datasets import load_cbis_ddsm

    table = load_cbis_ddsm(tables, images)
    _write_manifest(table, out, quiet)
    say(
        f"images found for {int(table['image_found'].sum())} of {len(table)} lesions, "
        f"ROI masks for {int(table['mask_found'].sum())}",
        quiet,
    )


@manifest_app.command("csv")
@guarded
def manifest_csv(
    file: Annotated[Path, typer.Argument(help="CSV with the lesion-table columns (extra columns kept).")],
    out: ManifestOut,
    check_files: Annotated[
        bool, typer.Option("--check-files/--no-check-files", help="Require every image/mask file to exist.")
    ] = True,
    quiet: Quiet = False,
) -> None:
    """Validate and normalise a generic lesion manifest."""
    from mammocad.datasets import load_manifest

    _write_manifest(load_manifest(file, check_files=check_files), out, quiet)


# --- synth (issue 2: synthetic mammograms) -------------------------------------------


@app.command()
@guarded
def synth(
    n: Annotated[int, typer.Option("--n", "-n", help="Number of images to draw (CC then MLO per patient).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: images/, masks/, lesions.csv.")],
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the cohort; same seed, same files.", callback=_seed)
    ] = 0,
    size: Annotated[int, typer.Option("--size", help="Image edge in pixels.")] = 1024,
    pixel_spacing_mm: Annotated[
        float,
        typer.Option(
            "--pixel-spacing",
            "--pixel-spacing-mm",
            help="Pixel edge in mm (--pixel-spacing-mm is the older spelling, still accepted).",
            callback=_spacing,
        ),
    ] = 0.1,
    calc_contrast: Annotated[
        float | None,
        typer.Option("--calc-contrast", help="Peak grey-level contrast of a calcification (default 30)."),
    ] = None,
    mass_contrast: Annotated[
        float | None,
        typer.Option("--mass-contrast", help="Grey-level contrast at a mass centre (default 20)."),
    ] = None,
    noise: Annotated[
        float | None,
        typer.Option("--noise", help="Noise standard deviation at mid-grey, grey levels (default 2.5)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Keep the images an interrupted run with the same options finished."),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Write synthetic mammograms with exact lesion masks and a lesion table."""
    from mammocad.datasets import summarise
    from mammocad.synth import make_cohort

    given = {"calc_contrast": calc_contrast, "mass_contrast": mass_contrast, "noise": noise}
    options = {name: value for name, value in given.items() if value is not None}
    table = make_cohort(
        n,
        out,
        seed=seed,
        size=size,
        pixel_spacing_mm=pixel_spacing_mm,
        resume=resume,
        progress=not quiet,
        **options,
    )
    say(f"wrote {n} images to {out}: {summarise(table)}", quiet)


# --- segment (issue 3) ---------------------------------------------------------------


@app.command("segment")
@guarded
def segment_command(
    image: Annotated[Path, typer.Argument(help="Mammogram file (DICOM, PGM, PNG, TIFF, JPEG).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for overlay.png, masks, segmentation.json (and candidates.csv without --roi).",
        ),
    ],
    roi: Annotated[
        str | None,
        typer.Option(
            "--roi", help="X,Y,R circle in the ORIGINAL image's pixels; none = automatic candidates."
        ),
    ] = None,
    kind: Annotated[str, typer.Option("--type", help="calcification, mass or both.")] = "both",
    pixel_spacing: Annotated[
        float | None,
        typer.Option(
            "--pixel-spacing", help="Pixel edge in mm, for files that do not carry it.", callback=_spacing
        ),
    ] = None,
    no_normalise: Annotated[
        bool,
        typer.Option("--no-normalise", help="Segment the image as read, not resampled to 1024x1024 8-bit."),
    ] = False,
    view: Annotated[
        str | None,
        typer.Option(
            "--view",
            help="CC or MLO, for files that do not say (CC: no pectoral muscle searched; not given: detected).",
        ),
    ] = None,
    dicom: Annotated[
        bool,
        typer.Option(
            "--dicom",
            help="Also write seg.dcm, a DICOM Segmentation on the image's own grid (needs a DICOM image).",
        ),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Segment microcalcifications and/or a mass; write an overlay, masks and a JSON summary."""
    from mammocad.pipeline import segment_and_write

    result, paths = segment_and_write(
        image,
        out,
        roi=roi,
        kind=kind,
        pixel_spacing_mm=pixel_spacing,
        normalise_image=not no_normalise,
        view=view,
        dicom=dicom,
    )
    summary = result.summary()
    calcs, mass = summary["calcifications"], summary["mass"]
    parts = []
    if calcs is not None:
        parts.append(f"{calcs['count']} calcifications in {len(calcs['clusters'])} cluster(s)")
    if mass is not None:
        parts.append(f"mass {mass['area_mm2']:.1f} mm²" if mass["found"] else "no mass found")
    if result.candidates is not None:
        parts.append(f"{len(result.candidates)} automatic candidate(s)")
    wrote = f"{paths['json'].parent}" + (" (with seg.dcm)" if "seg" in paths else "")
    say(f"{image}: {'; '.join(parts) or 'nothing found'}; wrote {wrote}", quiet)


# --- features (issue 4) --------------------------------------------------------------


@app.command("features")
@guarded
def features_command(
    lesions: Annotated[
        Path | None, typer.Argument(help="Lesion table (CSV) to measure; not needed with --list.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Feature table to write (.parquet or .csv); rerun to resume."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run on a local Dask cluster of N worker processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on an existing Dask cluster (tcp://HOST:PORT).")
    ] = None,
    list_features: Annotated[
        bool, typer.Option("--list", help="Print the 41 registered features and exit.")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="With --list: print docs/features.md.")
    ] = False,
    pixel_spacing: PixelSpacing = None,
    feature_set: FeatureSet = "paper",
    quiet: Quiet = False,
) -> None:
    """Measure the features of every lesion of a lesion table (resumable): the paper's 41, or --feature-set extended.

    Lesions that cannot be measured are listed with their reasons in
    FEATURES.skipped.csv next to the output; a run that measures none fails.
    """
    import warnings

    from mammocad.errors import FeatureError

    if list_features:
        from mammocad.features.registry import registry_markdown, registry_text

        typer.echo(registry_markdown() if markdown else registry_text(), nl=False)
        return
    if lesions is None or out is None:
        raise FeatureError("give a lesion table and --out FEATURES.parquet (or --list)")
    from mammocad.pipeline import measure_lesion_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = measure_lesion_table(
            lesions,
            out,
            workers=workers,
            scheduler=scheduler,
            progress=not quiet,
            pixel_spacing_mm=pixel_spacing,
            feature_set=feature_set,
        )
    _warn_skipped(result.attrs["skipped"], result.attrs["skipped_path"])
    say(
        f"wrote {out}: {len(result)} lesions x {len(result.attrs['features'])} features "
        f"({result.attrs['computed']} measured now, "
        f"{result.attrs['resumed']} already there); {result.attrs['summary']}",
        quiet,
    )


def _warn_skipped(skipped: list[dict[str, str]], path: str | None) -> None:
    """One ``warning:`` line per skipped lesion, the first :data:`SKIPPED_SHOWN`, then a count."""
    for item in skipped[:SKIPPED_SHOWN]:
        typer.echo(f"warning: lesion {item['lesion_id']} skipped: {item['reason']}", err=True)
    if len(skipped) > SKIPPED_SHOWN:
        typer.echo(
            f"warning: {len(skipped) - SKIPPED_SHOWN} more lesions skipped; all are listed in {path}",
            err=True,
        )


# --- train / predict (issue 5) -------------------------------------------------------


@app.command()
@guarded
def train(
    features: Annotated[
        Path, typer.Argument(help="Feature table (.parquet or .csv) from `mammocad features`.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="sae, svm, knn, lda, logreg or hgb.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="calcification (15), mass (26) or combined (41 features).")
    ] = "combined",
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds, grouped by patient.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the folds and the model.", callback=_seed)] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel grid-search fits.", callback=_jobs)] = 1,
    feature_set: FeatureSet = "paper",
    quiet: Quiet = False,
) -> None:
    """Select a model by patient-grouped k-fold CV on the training rows; save it."""
    from mammocad.pipeline import train as train_journey

    outcome = train_journey(
        features,
        model,
        out,
        scenario=scenario,
        feature_set=feature_set,
        n_splits=folds,
        random_state=seed,
        n_jobs=jobs,
        progress=not quiet,
    )
    meta = outcome.metadata
    say(
        f"{model} ({scenario}, {feature_set} set, {len(outcome.feature_names)} features, "
        f"{meta['n_train']} training lesions): {_fit_summary(meta)}; wrote {out}",
        quiet,
    )
    if "paper_set" in meta:
        paper = meta["paper_set"]
        say(
            f"  beside it, {model} ({scenario}, paper set, {paper['n_features']} features): {_fit_summary(paper)}",
            quiet,
        )


def _fit_summary(meta: dict[str, Any]) -> str:
    """CV accuracy, test AUC where there are test rows, and the best parameters of a training run."""
    m = meta["metrics"]
    test = f"; test AUC {m['test_auc']:.3f}" if m.get("test_auc") is not None else ""
    return (
        f"{m['n_splits']}-fold CV accuracy {m['cv_accuracy_mean']:.3f} ± {m['cv_accuracy_std']:.3f}{test}; "
        f"best {meta['best_params']}"
    )


@app.command()
@guarded
def predict(
    model_dir: Annotated[Path, typer.Argument(help="Model directory written by `mammocad train`.")],
    image: Annotated[Path, typer.Argument(help="Mammogram file (DICOM, PGM, PNG, TIFF, JPEG).")],
    roi: Annotated[str, typer.Option("--roi", help="X,Y,R circle around the lesion, in the image's pixels.")],
    pixel_spacing: Annotated[
        float | None,
        typer.Option(
            "--pixel-spacing", help="Pixel edge in mm, for files that do not carry it.", callback=_spacing
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Also write result.json, seg.dcm (DICOM SEG) and sr.dcm (DICOM SR) here "
            "(needs a DICOM image).",
        ),
    ] = None,
) -> None:
    """Segment the lesion, measure its features and print the malignancy probability as JSON."""
    import json

    from mammocad.pipeline import predict as predict_journey

    result = predict_journey(model_dir, image, roi, pixel_spacing_mm=pixel_spacing, out_dir=out)
    typer.echo(json.dumps(result, indent=2))


# --- reproduce / demo (issue 6) ------------------------------------------------------


def _csv_option(value: str | None, name: str) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise MammocadError(f"{name}: expected a comma-separated list, got {value!r}")
    return items


def _print_results(result: Any, quiet: bool) -> None:
    if quiet:
        return
    table = result.table()
    for _, row in table.iterrows():
        typer.echo(
            f"  {row['scenario']:<18}{row['model']:<7} acc {row['accuracy']:.3f} "
            f"[{row['accuracy_ci_low']:.2f}, {row['accuracy_ci_high']:.2f}]  "
            f"AUC {row['auc']:.3f} [{row['auc_ci_low']:.2f}, {row['auc_ci_high']:.2f}]  "
            f"CV {row['cv_accuracy_mean']:.2f} ± {row['cv_accuracy_std']:.2f}"
        )


@app.command()
@guarded
def reproduce(
    data: Annotated[
        Path,
        typer.Argument(
            help="Lesion table CSV (features extracted and cached) or feature table (.parquet/.csv)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (results, figures, report.html).")],
    test_fraction: Annotated[
        float, typer.Option(help="Fraction of patients held out for the test (paper: 204/1204 = 0.17).")
    ] = 0.2,
    seed: Annotated[
        int, typer.Option(help="Seed of the split, model selection and bootstrap.", callback=_seed)
    ] = 0,
    split_column: Annotated[
        str | None, typer.Option(help="Column with train/test per row instead of a random split.")
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated models (default: all, the paper's sae,svm,knn,lda and the baselines)."
        ),
    ] = None,
    scenarios: Annotated[
        str, typer.Option(help="Comma-separated scenarios.")
    ] = "calcification,mass,combined",
    n_splits: Annotated[int, typer.Option(help="Cross-validation folds on the training group.")] = 10,
    n_bootstrap: Annotated[
        int, typer.Option(help="Patient-bootstrap resamples for the confidence intervals.")
    ] = 2000,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers for feature extraction.")] = None,
    abnormality: Annotated[
        str | None,
        typer.Option(
            "--abnormality",
            help="Comma-separated kinds of lesion to study, e.g. calcification,mass (the paper's); default all.",
        ),
    ] = None,
    pixel_spacing: PixelSpacing = None,
    feature_set: FeatureSet = "paper",
    quiet: Quiet = False,
) -> None:
    """Run the paper's experiment (3 scenarios x every model, see --models) and write a report.

    With --feature-set extended, the mass and combined scenarios are also run with the
    margin features, side by side with the paper's.
    """
    from mammocad.pipeline import reproduce as run

    done = run(
        data,
        out,
        scenarios=_csv_option(scenarios, "--scenarios") or [],
        feature_set=feature_set,
        models=_csv_option(models, "--models"),
        test_fraction=test_fraction,
        split_column=split_column,
        seed=seed,
        n_splits=n_splits,
        n_bootstrap=n_bootstrap,
        workers=workers,
        progress=not quiet,
        dataset_name=data.name,
        pixel_spacing_mm=pixel_spacing,
        abnormalities=_csv_option(abnormality, "--abnormality"),
    )
    _print_results(done.result, quiet)
    say(f"wrote {done.report}", quiet)


@app.command()
@guarded
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    n: Annotated[int, typer.Option("--n", help="Synthetic images (pairs of views per patient).")] = 96,
    seed: Annotated[int, typer.Option(help="Seed of the cohort and the experiment.", callback=_seed)] = 0,
    mias: Annotated[
        bool | None,
        typer.Option(
            "--mias/--no-mias", help="Also run on mini-MIAS ($MAMMOCAD_DATA/mias); default: when available."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers for feature extraction.")] = None,
    quiet: Quiet = False,
) -> None:
    """Synthetic cohort (and mini-MIAS) through the whole pipeline, with reduced grids: a few minutes."""
    import os

    from mammocad.pipeline import run_demo

    root = os.environ.get("MAMMOCAD_DATA")
    mias_dir = Path(root) / "mias" if root else None
    available = mias_dir is not None and (mias_dir / "Info.txt").is_file()
    if mias and not available:
        raise MammocadError("--mias: set MAMMOCAD_DATA to a folder holding mias/Info.txt")
    use_mias = available if mias is None else mias
    runs = run_demo(
        out, n=n, seed=seed, mias_dir=mias_dir if use_mias else None, workers=workers, progress=not quiet
    )
    for name, run in runs.items():
        say(f"{name}:", quiet)
        _print_results(run.result, quiet)
        say(f"wrote {run.report}", quiet)


# --- serve (issue 7) -----------------------------------------------------------------


_SERVE_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@app.command()
@guarded
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; the default serves this computer only.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Model folder (from `mammocad train`) for the malignancy probability."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder whose images and lesion tables the page may open (only these)."),
    ] = None,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest accepted upload, in MB.")
    ] = 40.0,
    quiet: Quiet = False,
) -> None:
    """Start the local web viewer: open a mammogram, place an ROI, see segmentation, features, probability."""
    import uvicorn

    from mammocad.viewer import LOCAL_HOSTS, create_app

    # Served on this computer only, answer only to local host names (no DNS rebinding).
    web_app = create_app(
        model_dir=model,
        data_dir=data,
        max_upload_mb=max_upload_mb,
        allowed_hosts=LOCAL_HOSTS if host in LOCAL_HOSTS else None,
    )
    if host not in _SERVE_LOOPBACK_HOSTS:
        typer.echo(
            f"warning: listening on {host}: other computers on the network can open the viewer "
            "and upload images; it has no login. Use the default 127.0.0.1 unless you need this.",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    say(f"mammocad viewer on http://{shown}:{port}/  (Ctrl+C to stop)", quiet)
    uvicorn.run(web_app, host=host, port=port, log_level="warning" if quiet else "info", server_header=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mammocad`` console script.

    A command line that does not parse (an unknown command or option, a value of
    the wrong type or out of range) ends, like every other bad input, in one
    ``error: ...`` line naming the option, and exit code 1.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = app(args=args, standalone_mode=False, prog_name="mammocad")
    except typer.TyperException as exc:  # click's usage errors, as typer re-exports them
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help (rich prints it itself)
            if exc.format_message():
                typer.echo(exc.format_message())
            return 0
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        fail(f"{exc.format_message()}{hint}")
        return 1
    except (typer.Abort, KeyboardInterrupt):
        fail("interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
