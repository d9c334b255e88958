"""Atomic file output: a reader never sees a half-written file.

Everything mammocad writes for a user (tables, masks, models, reports) goes
through these helpers: the data is written to a temporary file in the target's
own folder and moved over the target with :func:`os.replace`, which is atomic on
POSIX and Windows. An interrupted run leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


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
