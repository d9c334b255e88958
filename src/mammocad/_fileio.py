"""Atomic file output: a reader never sees a half-written file.

Everything mammocad writes for a user (tables, masks, models, reports) goes
through these helpers: the data is written to a temporary file in the target's
own folder and moved over the target with :func:`os.replace`, which is atomic on
POSIX and Windows. An interrupted run leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_text",
    "neutralise_frame",
    "neutralise_text",
    "restore_frame",
    "restore_text",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so that libraries
    choosing a format by extension still do so. On an exception the temporary
    file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.",
            suffix=(suffix if suffix is not None else target.suffix) + ".tmp",
            dir=target.parent,
        )
    except OSError as exc:
        if exc.filename is None or Path(str(exc.filename)).name.startswith(f".{target.name}."):
            raise _naming(exc, target) from None
        raise
    os.close(fd)
    # mkstemp creates 0600 files; give the result the permissions open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_name, 0o666 & ~umask)
    tmp = Path(tmp_name)
    # Libraries that pick a writer by suffix see the real suffix before ".tmp".
    real_tmp = tmp.with_suffix("")
    tmp.rename(real_tmp)
    try:
        yield real_tmp
        os.replace(real_tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            real_tmp.unlink()
        if isinstance(exc, OSError) and _anonymous(exc, real_tmp):
            raise _naming(exc, target) from exc
        raise


def _anonymous(exc: OSError, tmp: Path) -> bool:
    """Whether ``exc`` is a plain OS error (a full disk) that names no file, or only our temporary one."""
    from mammocad.errors import MammocadError

    if isinstance(exc, MammocadError):
        return False
    return exc.filename is None or str(exc.filename) == str(tmp)


def _naming(exc: OSError, target: Path) -> OSError:
    """The same OS error, naming ``target`` (a full disk's ENOSPC names no file by itself)."""
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    if exc.errno is None:
        return OSError(f"cannot write {target}: {reason}")
    return OSError(exc.errno, f"cannot write {target}: {reason}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


#: First characters that make a spreadsheet read a text cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_text(value: object) -> object:
    """A text cell a spreadsheet would execute, made inert by a leading apostrophe.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
    run as a formula by spreadsheet programs opening a CSV (``=HYPERLINK(...)``);
    an apostrophe in front makes it plain text. Plain numbers (``-3.5``) and
    anything that is not a string are returned unchanged.

    Examples
    --------
    >>> print(neutralise_text('=HYPERLINK("http://example.com")'))
    '=HYPERLINK("http://example.com")
    >>> neutralise_text("-3.5"), neutralise_text(-3.5), neutralise_text("mdb001")
    ('-3.5', -3.5, 'mdb001')
    """
    if isinstance(value, str) and _executable(value.lstrip("'")):
        return "'" + value  # also "'=x", so that reading it back gives "'=x" again
    return value


def _executable(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(text)


_T = TypeVar("_T")


def restore_text(value: _T) -> _T:
    """Undo :func:`neutralise_text` on a cell read back from a CSV mammocad wrote.

    Examples
    --------
    >>> restore_text(neutralise_text("=1+1")), restore_text("'quoted"), restore_text(3)
    ('=1+1', "'quoted", 3)
    """
    if isinstance(value, str) and value.startswith("'") and _executable(value.lstrip("'")):
        return value[1:]  # type: ignore[return-value]  # a str is a _T here
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet.

    Only text (object or string) columns are touched, cell by cell, with
    :func:`neutralise_text`; numeric columns, negative numbers included, are left
    as they are. Every CSV mammocad writes goes through this
    (:func:`atomic_write_csv`).
    """
    return _map_text_columns(frame, neutralise_text)


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` read from a CSV mammocad wrote, its text cells as they were (:func:`restore_text`)."""
    return _map_text_columns(frame, restore_text)


def _map_text_columns(frame: pd.DataFrame, func: Any) -> pd.DataFrame:
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(func)
    return out


def atomic_write_csv(path: str | os.PathLike[str], frame: pd.DataFrame, **to_csv: Any) -> None:
    """Write ``frame`` as CSV atomically, its text cells neutralised (:func:`neutralise_frame`).

    ``to_csv`` passes on to :meth:`pandas.DataFrame.to_csv` (``index=False`` and
    ``lineterminator="\\n"`` unless given).
    """
    to_csv.setdefault("index", False)
    to_csv.setdefault("lineterminator", "\n")
    with atomic_path(path) as tmp:
        neutralise_frame(frame).to_csv(tmp, **to_csv)
