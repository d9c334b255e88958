"""The one folder of the file system a viewer request may read from.

``mammocad serve --data DIR`` lets the page open images and lesion tables found
under ``DIR``. Every path a request names is relative to that folder, is resolved
(following links) and must still lie inside it; anything else is refused before
the file system is touched beyond that check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mammocad.datasets import cell_text, finite_or_none, load_mias, read_lesion_table
from mammocad.errors import ImageReadError, MammocadError, PixelSpacingError
from mammocad.io import SUPPORTED_SUFFIXES, Mammogram
from mammocad.pipeline.spacing import read_image

__all__ = ["DataFolder", "DataPathError"]

#: Most files a listing returns (a huge folder is cut, and says so).
MAX_LISTED = 5000

_TABLE_SUFFIXES = (".csv",)
_MIAS_INDEX = "Info.txt"


class DataPathError(MammocadError, ValueError):
    """A data path from a request is malformed, outside the data folder or missing.

    Attributes
    ----------
    status_code : int
        400 for a malformed or escaping path, 404 for one that does not exist.
    """

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class DataFolder:
    """Read-only access to images and lesion tables under one folder.

    Parameters
    ----------
    root : path-like
        The data folder; it must exist.

    Raises
    ------
    MammocadError
        If ``root`` is not a folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise MammocadError(f"--data {root}: not a folder")
        self.root = path.resolve()

    def resolve(self, relative: str, *, kind: str = "file") -> Path:
        """Resolve a request's ``relative`` path inside the data folder.

        Raises
        ------
        DataPathError
            400 if the path is empty, absolute, has ``..``/NUL, or resolves outside
            the folder; 404 if it does not exist (as a file; a folder for
            ``kind="dir"``; either for ``kind="any"``).
        """
        if not isinstance(relative, str) or not relative.strip():
            raise DataPathError("data path is empty")
        if "\x00" in relative or "\\" in relative:
            raise DataPathError(f"data path {relative!r} contains a forbidden character")
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            raise DataPathError(f"data path {relative!r} must be relative to the data folder, without '..'")
        resolved = (self.root / candidate).resolve()
        if not resolved.is_relative_to(self.root):
            raise DataPathError(f"data path {relative!r} leads outside the data folder")
        if kind == "dir":
            exists = resolved.is_dir()
        elif kind == "any":
            exists = resolved.exists()
        else:
            exists = resolved.is_file()
        if not exists:
            raise DataPathError(f"data path {relative!r}: no such {kind} in the data folder", status_code=404)
        return resolved

    def _relative(self, path: Path) -> str | None:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            return None
        return resolved.relative_to(self.root).as_posix()

    def listing(self) -> dict[str, Any]:
        """Images and lesion tables under the folder, as relative POSIX paths.

        Tables are ``.csv`` files (lesion tables, see :mod:`mammocad.datasets`) and
        folders holding a mini-MIAS ``Info.txt``. Hidden files and folders are skipped.
        """
        images: list[str] = []
        tables: list[str] = []
        truncated = False
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            here = Path(dirpath)
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                if len(images) + len(tables) >= MAX_LISTED:
                    truncated = True
                    break
                suffix = Path(name).suffix.lower()
                rel = self._relative(here / name)
                if rel is None:
                    continue
                if suffix in SUPPORTED_SUFFIXES:
                    images.append(rel)
                elif suffix in _TABLE_SUFFIXES:
                    tables.append(rel)
                elif name == _MIAS_INDEX:
                    # A mini-MIAS folder is named by its folder; the data folder itself by its
                    # index file (not ".", which tells a user nothing).
                    folder = self._relative(here)
                    tables.append(_MIAS_INDEX if folder in (None, "", ".") else folder)
            if truncated:
                break
        return {"images": images, "tables": sorted(tables), "truncated": truncated}

    def read_table(self, relative: str) -> list[dict[str, Any]]:
        """Rows of a lesion table (or a mini-MIAS folder) under the folder.

        Each row gives ``lesion_id``, ``image`` (relative path in the data folder),
        ``abnormality``, ``pathology``, ``x``, ``y``, ``radius`` (``None`` where
        unknown) and ``pixel_spacing_mm``; rows whose image lies outside the data
        folder are left out.

        Raises
        ------
        DataPathError
            For a bad path.
        DatasetError
            If the file is not a lesion table.
        """
        path = self.resolve(relative, kind="any")
        if path.is_file() and path.name == _MIAS_INDEX:
            path = path.parent  # the mini-MIAS folder, named by its index file
        if path.is_dir() and not (path / _MIAS_INDEX).is_file():
            raise DataPathError(f"data path {relative!r}: folder has no {_MIAS_INDEX}", status_code=404)
        reader = load_mias if path.is_dir() else read_lesion_table
        try:
            table = reader(path)
        except MammocadError as exc:
            # Name the table as the page knows it, not by its server path.
            raise type(exc)(str(exc).replace(str(path), relative)) from None
        rows = []
        for record in table.to_dict(orient="records"):
            image = self._relative(Path(str(record.get("image_path", ""))))
            if image is None:
                continue
            rows.append(
                {
                    "lesion_id": str(record.get("lesion_id", "")),
                    "image": image,
                    "abnormality": cell_text(record.get("abnormality")),
                    "pathology": cell_text(record.get("pathology")),
                    "x": finite_or_none(record.get("x")),
                    "y": finite_or_none(record.get("y")),
                    "radius": finite_or_none(record.get("radius")),
                    "pixel_spacing_mm": finite_or_none(record.get("pixel_spacing_mm")),
                    "nominal_pixel_spacing_mm": finite_or_none(record.get("nominal_pixel_spacing_mm")),
                }
            )
        return rows

    def open_image(
        self,
        relative: str,
        *,
        pixel_spacing_mm: float | None = None,
        nominal_pixel_spacing_mm: float | None = None,
    ) -> Mammogram:
        """Read an image under the folder; ``source`` is its relative path.

        The pixel spacing follows mammocad's order (:mod:`mammocad.pipeline.spacing`):
        the file's own, else ``pixel_spacing_mm`` (the lesion table row's), else
        ``nominal_pixel_spacing_mm`` (the dataset's); else it stays unknown until the
        user gives it with the analysis (then recorded as ``"option"``).
        """
        path = self.resolve(relative)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DataPathError(f"data path {relative!r} is not an image ({', '.join(SUPPORTED_SUFFIXES)})")
        shown = self._relative(path) or relative
        try:
            mammogram = read_image(
                path, table_mm=pixel_spacing_mm, nominal_mm=nominal_pixel_spacing_mm, required=False
            )
        except (ImageReadError, PixelSpacingError) as exc:  # name the file as the user knows it
            raise type(exc)(str(exc).replace(str(path), shown)) from None
        return mammogram.replace(source=shown)
