"""A local web viewer over the mammocad pipeline (``mammocad serve``).

Open a mammogram, place a region of interest (or accept an automatic candidate),
see the segmentation overlay, the 41 features with their definitions, and the
malignancy probability from a trained model. See :func:`create_app`.
"""

from mammocad.viewer.app import DEFAULT_MAX_UPLOAD_MB, LOCAL_HOSTS, create_app

__all__ = ["create_app", "DEFAULT_MAX_UPLOAD_MB", "LOCAL_HOSTS"]
