"""In-memory store of the images a viewer session has opened.

Uploaded pixels never touch the disk: the server keeps the last few images in a
least-recently-used store keyed by a random, unguessable id, each with the last
few analysis results made on it. Per image it keeps exactly:

- the :class:`~mammocad.io.Mammogram` (pixels, spacing, laterality, view; its
  ``source`` is the name below) and the display PNG made from it;
- the name the image was opened under (the upload's file name, or its path
  relative to the data folder);
- for a DICOM image that DICOM output can reference, its **header**: every
  attribute up to Pixel Data, as the file has it, patient and study identifiers
  included. The "Export DICOM" download copies the patient and study context
  from it into the SEG and SR it returns (as the standard requires) and
  references the image by its UIDs. The header is the user's own file, held in
  memory only, dropped with the image; it is never logged, never returned in a
  JSON answer, and leaves the server only inside that download;
- the last few analysis results (:class:`~mammocad.pipeline.LesionAnalysis` and
  the JSON answer made from it).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mammocad.io import Mammogram

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = ["ImageStore", "StoredImage"]


@dataclass(eq=False)
class StoredImage:
    """One open image and the analyses made on it (most recent last).

    ``dicom_header`` is the DICOM header of the source (see the module's
    docstring), or None for an image that is not a DICOM that DICOM output can
    reference.
    """

    image_id: str
    name: str
    mammogram: Mammogram
    display_png: bytes
    results: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    dicom_header: Dataset | None = field(default=None, repr=False)


class ImageStore:
    """A thread-safe LRU of open images.

    Parameters
    ----------
    max_images : int
        How many images to keep; opening one more drops the least recently used.
    max_results : int
        How many analysis results to keep per image.
    """

    def __init__(self, max_images: int = 4, max_results: int = 8) -> None:
        if max_images < 1 or max_results < 1:
            raise ValueError("max_images and max_results must be >= 1")
        self.max_images = max_images
        self.max_results = max_results
        self._images: OrderedDict[str, StoredImage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._images)

    def add(
        self, name: str, mammogram: Mammogram, display_png: bytes, dicom_header: Dataset | None = None
    ) -> StoredImage:
        """Store an image (and the header of a DICOM one) under a new random id; return its entry."""
        entry = StoredImage(
            secrets.token_urlsafe(16), name, mammogram, display_png, dicom_header=dicom_header
        )
        with self._lock:
            self._images[entry.image_id] = entry
            while len(self._images) > self.max_images:
                self._images.popitem(last=False)
        return entry

    def get(self, image_id: str) -> StoredImage | None:
        """The entry for ``image_id`` (marking it recently used), or ``None``."""
        with self._lock:
            entry = self._images.get(image_id)
            if entry is not None:
                self._images.move_to_end(image_id)
            return entry

    def add_result(self, entry: StoredImage, result: Any) -> str:
        """Keep ``result`` with ``entry`` under a new random id and return the id."""
        result_id = secrets.token_urlsafe(12)
        with self._lock:
            entry.results[result_id] = result
            while len(entry.results) > self.max_results:
                entry.results.popitem(last=False)
        return result_id

    def get_result(self, entry: StoredImage, result_id: str) -> Any | None:
        """The result ``result_id`` of ``entry``, or ``None``."""
        with self._lock:
            return entry.results.get(result_id)
