"""The ML signal filter's pure core: dataset and barrier labels, purged walk-forward validation, the
calibrated ensemble, numpy fast inference, drift checks and safe artifacts. No Django imports here:
the ``mlfilter`` app wraps this package for persistence and Celery.

Import the submodules directly (``mlfilter.ml.training``, ``mlfilter.ml.artifacts``...): this package
imports nothing itself, so reading a feature name does not load scikit-learn and XGBoost.
"""
