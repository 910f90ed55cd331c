"""The live ML filter hook the trading cycle calls once per candidate signal.

``score(features)`` returns ``(confidence, model_version)`` from the deployed model, or ``(None, "")``
when there is none or it cannot be used: the filter never invents a number, and a broken model
never stops the trading cycle (it logs, pushes one alert, and the cycle trades unfiltered, which the
dashboard shows as "no ML model").

The model is loaded once per worker process and kept with the primary key it was loaded for. Each
call costs one indexed query (the partial unique index on ``deployed``) to learn which model is
deployed now, so a deploy from the admin or by auto-deploy takes effect on the next bar with no
restart. A model that failed to load is remembered as failed for its key, so a bad artifact costs
one alert, not one load attempt per bar; deploying another version (or re-deploying) retries.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mlfilter import selectors
from mlfilter.ml.artifacts import ModelFormatError, load_model
from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.fast_inference import FastEnsemble
from mlfilter.models import DEFAULT_THRESHOLD, ModelVersion
from mlfilter.services import alert

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_THRESHOLD", "current_threshold", "enforcing", "passes", "reset", "score"]


@dataclass(frozen=True)
class _Loaded:
    pk: int
    version: str
    fast: FastEnsemble | None  # None: this model failed to load
    threshold: float
    # A model trained on simulated data is advisory: it scores signals (shown on each) but does not
    # veto orders; only a model trained on real market data enforces its threshold.
    enforced: bool = True


_lock = threading.Lock()
_loaded: _Loaded | None = None


def reset() -> None:
    """Forget the loaded model (tests; the next call loads again)."""
    global _loaded
    with _lock:
        _loaded = None


def _load(pk: int, version: str, artifact_dir: str) -> _Loaded:
    try:
        model = load_model(artifact_dir)
        if model.meta.get("model_version") != version:
            raise ModelFormatError(f"{artifact_dir} holds {model.meta.get('model_version')!r}, not {version!r}")
        fast = FastEnsemble(model)
    except (ModelFormatError, OSError, ValueError, RuntimeError) as exc:
        log.error("ML model %s cannot be loaded (%s); signals are not filtered", version, exc)
        _alert(f"ML model {version} failed to load: {exc}. Signals pass unfiltered until a model is deployed.")
        return _Loaded(pk=pk, version=version, fast=None, threshold=DEFAULT_THRESHOLD)
    log.info("ML model %s loaded from %s", version, artifact_dir)
    trained_on = ModelVersion.objects.filter(pk=pk).values_list("trained_on", flat=True).first()
    return _Loaded(pk=pk, version=version, fast=fast, threshold=fast.threshold, enforced=trained_on != "simulated")


def _alert(message: str) -> None:
    alert(message[:300], level="error")


def _current() -> _Loaded | None:
    """The deployed model, loaded (or marked failed); None when nothing is deployed."""
    global _loaded
    ref = selectors.deployed_ref()
    if ref is None:
        return None
    pk, version, artifact_dir = ref
    cached = _loaded
    if cached is not None and cached.pk == pk:
        return cached
    with _lock:
        if _loaded is None or _loaded.pk != pk:
            _loaded = _load(pk, version, artifact_dir)
        return _loaded


def score(features: Mapping[str, float]) -> tuple[float | None, str]:
    """(ensemble confidence, model version) for one signal's feature row, or (None, "") without a model.

    ``features`` must hold every name in ``FEATURES`` (the engine's row incl. ``confluence``); a row
    missing one, or holding a non-finite value, is not scored (logged; (None, "")).
    """
    try:
        current = _current()
    except Exception:  # noqa: BLE001 - a database hiccup must not stop the trading cycle
        log.exception("ML filter: cannot read the deployed model")
        return None, ""
    if current is None or current.fast is None:
        return None, ""
    try:
        row = np.array([float(features[name]) for name in FEATURES], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("ML filter: feature row not scored (%s: %s)", type(exc).__name__, exc)
        return None, ""
    if not np.isfinite(row).all():
        log.warning("ML filter: feature row has non-finite values; not scored")
        return None, ""
    try:
        confidence = current.fast.confidence(row)
    except Exception:  # noqa: BLE001 - see module docstring
        log.exception("ML filter: scoring with %s failed", current.version)
        return None, ""
    if not math.isfinite(confidence):
        return None, ""
    return confidence, current.version


def current_threshold() -> float:
    """The deployed model's pass threshold (its stored EnsembleConfig), else the DESIGN default 0.65."""
    current = _loaded
    return current.threshold if current is not None and current.fast is not None else DEFAULT_THRESHOLD


def passes(confidence: float | None, threshold: float | None = None) -> bool:
    """Whether a signal passes the filter: no confidence (no usable model) passes; else >= threshold.

    ``threshold`` None: the deployed model's own (``current_threshold()``).
    """
    if confidence is None:
        return True
    return confidence >= (current_threshold() if threshold is None else threshold)


def enforcing() -> bool:
    """Whether the deployed model's verdict blocks orders (False: none, failed, or simulated-data)."""
    current = _current()
    return current is not None and current.fast is not None and current.enforced
