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
manifest_app = typer.Typer(help="Write a lesion table (one row per lesion) from a dataset.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")

F = TypeVar("F", bound=Callable[..., Any])

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]


def guarded(func: F) -> F:
    """Turn a :class:`MammocadError` into ``error: ...`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MammocadError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


def say(message: str, quiet: bool) -> None:
    """Print a summary line unless ``--quiet``."""
    if not quiet:
        typer.echo(message)


# --- version -------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the versions of mammocad and the libraries it computes with."""
    from mammocad import __version__

    typer.echo(f"mammocad {__version__}")


# --- manifest (issue 2: datasets) ----------------------------------------------------

# --- synth (issue 2: synthetic mammograms) -------------------------------------------

# --- segment (issue 3) ---------------------------------------------------------------

# --- features (issue 4) --------------------------------------------------------------

# --- train / predict (issue 5) -------------------------------------------------------

# --- reproduce / demo (issue 6) ------------------------------------------------------

# --- serve (issue 7) -----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mammocad`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
