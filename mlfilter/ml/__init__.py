"""The ML signal filter's pure core: dataset and barrier labels, purged walk-forward validation, the
calibrated ensemble, numpy fast inference, drift checks and safe artifacts. No Django imports here:
the ``mlfilter`` app wraps this package for persistence and Celery.
"""

from mlfilter.ml.artifacts import FORMAT_VERSION, ModelFormatError, load_model, save_model
from mlfilter.ml.dataset import FEATURES, INPUTS, DatasetConfig, build_dataset, design_matrix
from mlfilter.ml.drift import drift_baseline, drift_report, psi
from mlfilter.ml.ensemble import EnsembleConfig, EnsembleModel
from mlfilter.ml.fast_inference import FastEnsemble
from mlfilter.ml.labels import BarrierConfig, triple_barrier_labels
from mlfilter.ml.training import BarSet, NotEnoughSamples, TrainConfig, TrainingResult, train

__all__ = [
    "FEATURES",
    "FORMAT_VERSION",
    "INPUTS",
    "BarSet",
    "BarrierConfig",
    "DatasetConfig",
    "EnsembleConfig",
    "EnsembleModel",
    "FastEnsemble",
    "ModelFormatError",
    "NotEnoughSamples",
    "TrainConfig",
    "TrainingResult",
    "build_dataset",
    "design_matrix",
    "drift_baseline",
    "drift_report",
    "load_model",
    "psi",
    "save_model",
    "train",
    "triple_barrier_labels",
]
