"""The journeys: the one place where mammocad's stages are composed.

Stages (:mod:`~mammocad.io`, :mod:`~mammocad.datasets`, :mod:`~mammocad.segment`,
:mod:`~mammocad.features`, :mod:`~mammocad.models`, :mod:`~mammocad.evaluation`,
:mod:`~mammocad.report`) take values and return values; the pipeline walks them.
Everything the command line and the viewer do is one call here:

==============================  ===========================================================
``mammocad segment``            :func:`segment_and_write` (:func:`segment_mammogram`,
                                :func:`write_segmentation`; ``--dicom``:
                                :func:`dicom_segmentation`)
``mammocad features``           :func:`measure_lesion_table`
``mammocad train``              :func:`train` (:func:`train_model` on a table in memory)
``mammocad predict``            :func:`predict` (:func:`predict_lesion` on values;
                                with ``--out``: :func:`write_prediction`)
``mammocad reproduce``          :func:`reproduce` (:func:`load_features`,
                                :func:`lesion_overlays`)
``mammocad demo``               :func:`run_demo`
viewer: analyse an ROI          :func:`analyse_lesion`, :func:`lesion_overlay`,
                                :func:`calcification_layer`
viewer: candidates, model       :func:`find_candidates`, :func:`load_model`
viewer: Export DICOM            :func:`lesion_dicom`, :func:`dicom_bytes`
==============================  ===========================================================

A lesion is segmented once (:func:`measure_on_grid`) on the analysis grid
(:func:`analysis_grid`); the feature table, the viewer and the report all see
that segmentation.

Examples
--------
>>> from mammocad.pipeline import analyse_lesion
>>> from mammocad.synth import make_case
>>> case = make_case(1, abnormality="calcification", size=512, pixel_spacing_mm=0.2)
>>> result = analyse_lesion(case.mammogram, case.lesions[0].roi)
>>> result.features["calc_count"] == result.segmentation.calcification_count > 0
True
"""

from mammocad.pipeline.dicom import (
    dicom_bytes,
    dicom_segmentation,
    lesion_dicom,
    save_dicom,
    write_prediction,
)
from mammocad.pipeline.lesion import (
    GRID_SIZE,
    LesionAnalysis,
    analyse_lesion,
    analysis_grid,
    calcification_layer,
    find_candidates,
    lesion_overlay,
    load_model,
    measure_on_grid,
    model_scenario,
    predict,
    predict_lesion,
)
from mammocad.pipeline.measure import lesion_inputs, lesion_roi, measure_lesion_table, measurement_settings
from mammocad.pipeline.reproduce import (
    FEATURE_CACHE,
    MIAS_EXPERIMENT_ABNORMALITIES,
    ReproduceRun,
    demo_grids,
    lesion_overlays,
    load_features,
    reproduce,
    run_demo,
)
from mammocad.pipeline.segmentation import (
    SEGMENT_TYPES,
    MammogramSegmentation,
    segment_and_write,
    segment_mammogram,
    write_segmentation,
)
from mammocad.pipeline.train import TrainingOutcome, train, train_model

__all__ = [
    # one lesion
    "GRID_SIZE",
    "LesionAnalysis",
    "analysis_grid",
    "measure_on_grid",
    "analyse_lesion",
    "predict_lesion",
    "predict",
    "find_candidates",
    "lesion_overlay",
    "calcification_layer",
    "load_model",
    "model_scenario",
    # a lesion table
    "measure_lesion_table",
    "measurement_settings",
    "lesion_inputs",
    "lesion_roi",
    # models
    "TrainingOutcome",
    "train_model",
    "train",
    # experiment
    "ReproduceRun",
    "FEATURE_CACHE",
    "MIAS_EXPERIMENT_ABNORMALITIES",
    "load_features",
    "lesion_overlays",
    "reproduce",
    "run_demo",
    "demo_grids",
    # whole-image segmentation
    "SEGMENT_TYPES",
    "MammogramSegmentation",
    "segment_mammogram",
    "write_segmentation",
    "segment_and_write",
    # DICOM output
    "dicom_segmentation",
    "lesion_dicom",
    "dicom_bytes",
    "save_dicom",
    "write_prediction",
]
