"""The filter ensemble: logistic regression, random forest and XGBoost, each calibrated, then averaged.

Calibration is fitted on training data only: the training window is split in time order, the members
are fitted on its first ``1 - calibration_fraction`` (purged of rows whose outcome falls in the
holdout) and each member's calibrator on the last part. The members are not refitted on the whole
window afterwards, because a calibrator fitted to one model's errors does not fit another's; the
holdout costs some data but the probabilities it produces are honest, and a 0.65 threshold only means
something on honest probabilities.

Calibrators are plain parameters (Platt ``a * logit(p) + b`` or isotonic knots for ``np.interp``) so
the fast path and the artifacts can reproduce them exactly without scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from mlfilter.ml.dataset import FEATURES, INPUTS, design_matrix
from mlfilter.ml.validation import train_mask_before

__all__ = ["MEMBERS", "Calibrator", "EnsembleConfig", "EnsembleModel"]

MEMBERS = ("logistic", "forest", "xgboost")
_EPS = 1e-6


@dataclass(frozen=True)
class EnsembleConfig:
    """Members' sizes, weights and the pass threshold (DESIGN section 4 defaults)."""

    weights: dict[str, float] = field(default_factory=lambda: {"logistic": 0.30, "forest": 0.35, "xgboost": 0.35})
    threshold: float = 0.65
    rf_trees: int = 100
    rf_max_depth: int = 8
    rf_min_samples_leaf: int = 20
    xgb_trees: int = 100
    xgb_max_depth: int = 4
    xgb_learning_rate: float = 0.05
    logistic_c: float = 1.0
    calibration: str = "sigmoid"
    calibration_fraction: float = 0.2
    random_state: int = 0
    n_jobs: int = 1

    def __post_init__(self) -> None:
        if set(self.weights) != set(MEMBERS):
            raise ValueError(f"ensemble weights must name exactly {', '.join(MEMBERS)}, got {sorted(self.weights)}")
        if any(not (w >= 0) for w in self.weights.values()):
            raise ValueError("ensemble weights must be >= 0")
        if not math.isclose(sum(self.weights.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"ensemble weights must sum to 1, got {sum(self.weights.values()):.6f}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.calibration not in ("sigmoid", "isotonic"):
            raise ValueError(f"calibration must be 'sigmoid' or 'isotonic', got {self.calibration!r}")
        if not 0.05 <= self.calibration_fraction <= 0.5:
            raise ValueError("calibration_fraction must be in [0.05, 0.5]")
        for name in ("rf_trees", "rf_max_depth", "rf_min_samples_leaf", "xgb_trees", "xgb_max_depth", "n_jobs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Calibrator:
    """Maps a member's raw P(1) to a calibrated one. ``kind`` identity, sigmoid (a, b) or isotonic (x, y)."""

    kind: str = "identity"
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, kind: str, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on holdout predictions; one class only (nothing to calibrate against) gives identity."""
        if len(np.unique(y)) < 2:
            return cls()
        if kind == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
            return cls(kind="isotonic", x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist())
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(p)[:, None], y)
        return cls(kind="sigmoid", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))

    def apply(self, p: np.ndarray) -> np.ndarray:
        if self.kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-(self.a * _logit(p) + self.b)))
        if self.kind == "isotonic":
            return np.interp(p, np.asarray(self.x), np.asarray(self.y))
        return np.asarray(p, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


@dataclass
class EnsembleModel:
    """Fitted members + calibrators. ``predict_proba`` takes raw ``FEATURES`` rows (n, 13)."""

    config: EnsembleConfig
    scaler: StandardScaler | None = None
    logistic: LogisticRegression | None = None
    forest: RandomForestClassifier | None = None
    xgboost: XGBClassifier | None = None
    calibrators: dict[str, Calibrator] = field(default_factory=dict)
    features: tuple[str, ...] = FEATURES
    inputs: tuple[str, ...] = INPUTS
    meta: dict[str, Any] = field(default_factory=dict)

    def fit(self, x: np.ndarray, y: np.ndarray, t_signal: np.ndarray | None = None,
            t_outcome: np.ndarray | None = None) -> EnsembleModel:
        """Fit on rows in time order; ``t_signal``/``t_outcome`` (ns or datetimes) purge the inner split."""
        cfg = self.config
        z, y = design_matrix(x), np.asarray(y, dtype=np.int64)
        n = len(y)
        cut_at = int(round(n * (1.0 - cfg.calibration_fraction)))
        fit_rows = np.arange(cut_at)
        if t_signal is not None and t_outcome is not None and cut_at < n:
            import pandas as pd

            cut = pd.Timestamp(pd.to_datetime(np.asarray(t_signal)[cut_at], utc=True))
            fit_rows = np.flatnonzero(train_mask_before(t_signal, t_outcome, cut))
        cal_rows = np.arange(cut_at, n)
        if len(np.unique(y[fit_rows])) < 2:
            raise ValueError("the training window holds one class only; cannot fit the filter")
        zf, yf = z[fit_rows], y[fit_rows]
        self.scaler = StandardScaler().fit(zf)
        self.logistic = LogisticRegression(C=cfg.logistic_c, max_iter=2000).fit(self.scaler.transform(zf), yf)
        self.forest = RandomForestClassifier(
            n_estimators=cfg.rf_trees, max_depth=cfg.rf_max_depth, min_samples_leaf=cfg.rf_min_samples_leaf,
            n_jobs=cfg.n_jobs, random_state=cfg.random_state).fit(zf, yf)
        self.xgboost = XGBClassifier(
            n_estimators=cfg.xgb_trees, max_depth=cfg.xgb_max_depth, learning_rate=cfg.xgb_learning_rate,
            subsample=0.8, colsample_bytree=0.8, min_child_weight=5, tree_method="hist", n_jobs=cfg.n_jobs,
            random_state=cfg.random_state, eval_metric="logloss").fit(zf, yf)
        raw = self._raw(z[cal_rows])
        self.calibrators = {m: Calibrator.fit(cfg.calibration, raw[m], y[cal_rows]) for m in MEMBERS}
        self.meta.update(n_fit=int(len(fit_rows)), n_calibration=int(len(cal_rows)))
        return self

    def _raw(self, z: np.ndarray) -> dict[str, np.ndarray]:
        if self.logistic is None or self.forest is None or self.xgboost is None or self.scaler is None:
            raise RuntimeError("the ensemble is not fitted")
        return {
            "logistic": self.logistic.predict_proba(self.scaler.transform(z))[:, 1],
            "forest": self.forest.predict_proba(z)[:, 1],
            "xgboost": self.xgboost.predict_proba(z)[:, 1].astype(np.float64),
        }

    def member_proba(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated P(target first) of each member for raw ``FEATURES`` rows."""
        raw = self._raw(design_matrix(x))
        return {m: self.calibrators.get(m, Calibrator()).apply(raw[m]) for m in MEMBERS}

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Ensemble confidence: the weighted mean of the members' calibrated probabilities."""
        parts = self.member_proba(x)
        return sum(self.config.weights[m] * parts[m] for m in MEMBERS)

    def passes(self, x: np.ndarray) -> np.ndarray:
        """Boolean per row: confidence >= threshold (a signal the filter lets through)."""
        return self.predict_proba(x) >= self.config.threshold

    def feature_importances(self) -> dict[str, float]:
        """Weighted importance per model input: |standardized coef| for the linear member, gain-based for trees."""
        if self.logistic is None or self.forest is None or self.xgboost is None:
            raise RuntimeError("the ensemble is not fitted")
        parts = {
            "logistic": np.abs(self.logistic.coef_[0]),
            "forest": np.asarray(self.forest.feature_importances_, dtype=np.float64),
            "xgboost": np.asarray(self.xgboost.feature_importances_, dtype=np.float64),
        }
        total = np.zeros(len(self.inputs))
        for m, v in parts.items():
            s = v.sum()
            total += self.config.weights[m] * (v / s if s > 0 else v)
        return {name: round(float(v), 6) for name, v in zip(self.inputs, total, strict=True)}
