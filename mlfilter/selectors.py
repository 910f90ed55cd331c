"""Reads for the ML filter: model versions, training runs, the bars to train on, live signal features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db.models import QuerySet

from mlfilter.ml.dataset import FEATURES
from mlfilter.models import ModelVersion, TrainingRun
from trading.models import Bar, Signal

BAR_COLUMNS = ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "bid", "ask")
SIMULATED_BAR_SOURCES = frozenset({"sim"})


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-created_at", "-id")


def deployed_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(deployed=True).first()


def deployed_ref() -> tuple[int, str, str] | None:
    """(pk, version, artifact_dir) of the deployed model: one query on the partial unique index."""
    return ModelVersion.objects.filter(deployed=True).values_list("pk", "version", "artifact_dir").first()


def latest_run() -> TrainingRun | None:
    return TrainingRun.objects.select_related("model").order_by("-started_at", "-id").first()


def bar_frame(symbol: str) -> tuple[pd.DataFrame, bool]:
    """All stored bars of ``symbol`` as a loaders-layout bar frame, and whether any came from the simulator."""
    rows = Bar.objects.filter(symbol=symbol).order_by("ts")
    values = list(rows.values_list("ts", *BAR_COLUMNS))
    sources = set(rows.values_list("source", flat=True).distinct())
    index = pd.DatetimeIndex([v[0] for v in values], name="ts")
    index = (index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")).as_unit("ns")
    frame = pd.DataFrame([v[1:] for v in values], columns=list(BAR_COLUMNS), index=index, dtype="float64")
    return frame, bool(sources & SIMULATED_BAR_SOURCES)


def live_feature_matrix(limit: int) -> np.ndarray:
    """``FEATURES`` rows of the last ``limit`` signals the engine wanted to trade (the model's population).

    The model was trained on candidate signals only (direction != 0), so neutral bars would show as
    drift that is not there. ``confluence`` lives in its own column; rows missing a feature are left out.
    """
    signals = Signal.objects.exclude(direction=0).order_by("-ts").values_list("features", "confluence")[:limit]
    rows = []
    for features, confluence in signals:
        merged = {**(features or {}), "confluence": confluence}
        row = [merged.get(name) for name in FEATURES]
        if all(isinstance(v, int | float) for v in row):
            rows.append(row)
    rows.reverse()  # time order
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
