"""Single-signal ensemble inference in plain numpy, well under a millisecond.

scikit-learn's ``predict_proba`` on a 100-tree forest costs milliseconds per call on one row: input
validation, a joblib dispatch and one Python call per tree. Here each forest becomes a few flat arrays
(all trees' nodes concatenated) and one row is pushed down every tree at once, one depth level per
numpy step. A leaf points to itself, so rows that reached a leaf early just stay there and no masking
is needed. XGBoost trees get the same treatment from the booster's own JSON model.

Exactness matters more than speed: the equality test compares against the libraries to 1e-6. So the
library conventions are copied, not approximated:

* scikit-learn trees compare ``float32(x) <= threshold`` (it casts X to float32 before traversal);
* XGBoost goes left when ``float32(x) < split_condition``, follows ``default_left`` for NaN, and
  starts from ``logit(base_score)``;
* the logistic member is ``(x - mean) / scale`` then a dot product; the calibrators are the same
  closed forms as ``ensemble.Calibrator``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from mlfilter.ml.dataset import _MIRROR, FEATURES
from mlfilter.ml.ensemble import MEMBERS, Calibrator, EnsembleModel

__all__ = ["FastEnsemble", "FlatTrees"]

_EPS = 1e-6


@dataclass
class FlatTrees:
    """All trees of one model, nodes concatenated; leaves have left == right == self."""

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    depth: int
    strict_less: bool  # XGBoost: x < t goes left; scikit-learn: x <= t

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Leaf node ids reached by one row ``x`` (float32 values, as float64) in every tree."""
        node = self.roots
        feat, thr, left, right = self.feature, self.threshold, self.left, self.right
        for _ in range(self.depth):
            v = x[feat[node]]
            go_left = v < thr[node] if self.strict_less else v <= thr[node]
            node = np.where(go_left, left[node], right[node])
        return node

    def leaves_nan(self, x: np.ndarray) -> np.ndarray:
        """As ``leaves`` but honouring XGBoost's default direction for missing values."""
        node = self.roots
        for _ in range(self.depth):
            v = x[self.feature[node]]
            go_left = np.where(np.isnan(v), self.default_left[node], v < self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return node


def _concat(trees: list[dict[str, np.ndarray]], depth: int, strict_less: bool) -> FlatTrees:
    """Concatenate per-tree node arrays, offsetting child ids and making leaves self-loops."""
    offs = np.cumsum([0] + [len(t["left"]) for t in trees[:-1]])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "dl", "value")}
    for off, t in zip(offs, trees, strict=True):
        ids = np.arange(len(t["left"])) + off
        leaf = t["left"] < 0
        parts["left"].append(np.where(leaf, ids, t["left"] + off))
        parts["right"].append(np.where(leaf, ids, t["right"] + off))
        parts["feature"].append(np.where(leaf, 0, t["feature"]))
        parts["threshold"].append(np.where(leaf, 0.0, t["threshold"]))
        parts["dl"].append(t["default_left"].astype(bool))
        parts["value"].append(t["value"])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return FlatTrees(roots=offs.astype(np.int64), feature=cat["feature"].astype(np.int64),
                     threshold=cat["threshold"].astype(np.float64), left=cat["left"].astype(np.int64),
                     right=cat["right"].astype(np.int64), default_left=cat["dl"], value=cat["value"],
                     depth=int(depth), strict_less=strict_less)


def flatten_forest(forest) -> FlatTrees:
    """A fitted RandomForestClassifier as ``FlatTrees``; leaf value = the tree's P(class 1)."""
    trees, depth = [], 0
    pos = int(np.flatnonzero(forest.classes_ == 1)[0])
    for est in forest.estimators_:
        t = est.tree_
        v = t.value[:, 0, :]
        trees.append({"left": t.children_left.astype(np.int64), "right": t.children_right.astype(np.int64),
                      "feature": t.feature.astype(np.int64), "threshold": t.threshold.astype(np.float64),
                      "default_left": np.zeros(t.node_count, dtype=bool), "value": v[:, pos] / v.sum(axis=1)})
        depth = max(depth, int(t.max_depth))
    return _concat(trees, depth, strict_less=False)


def _tree_depth(left: np.ndarray, right: np.ndarray) -> int:
    depth = np.zeros(len(left), dtype=np.int64)
    for i in range(len(left)):  # XGBoost numbers children after their parent
        if left[i] >= 0:
            depth[left[i]] = depth[right[i]] = depth[i] + 1
    return int(depth.max()) if len(depth) else 0


def flatten_xgboost(model) -> tuple[FlatTrees, float]:
    """An XGBClassifier (binary:logistic) as ``FlatTrees`` plus its base margin (logit of base_score)."""
    booster = model.get_booster()
    doc = json.loads(booster.save_raw(raw_format="json"))["learner"]
    if doc["objective"]["name"] != "binary:logistic":
        raise ValueError(f"fast path supports binary:logistic only, got {doc['objective']['name']}")
    base = float(re.sub(r"[\[\]]", "", doc["learner_model_param"]["base_score"]).split(",")[0])
    trees, depth = [], 0
    for t in doc["gradient_booster"]["model"]["trees"]:
        left, right = np.asarray(t["left_children"], np.int64), np.asarray(t["right_children"], np.int64)
        cond = np.asarray(t["split_conditions"], np.float32).astype(np.float64)
        trees.append({"left": left, "right": right, "feature": np.asarray(t["split_indices"], np.int64),
                      "threshold": cond, "default_left": np.asarray(t["default_left"], bool), "value": cond})
        depth = max(depth, _tree_depth(left, right))
    return _concat(trees, depth, strict_less=True), float(np.log(base / (1.0 - base)))


def _calibrate(cal: Calibrator, p: float) -> float:
    if cal.kind == "sigmoid":
        p = min(max(p, _EPS), 1.0 - _EPS)
        return 1.0 / (1.0 + np.exp(-(cal.a * np.log(p / (1.0 - p)) + cal.b)))
    if cal.kind == "isotonic":
        return float(np.interp(p, cal.x, cal.y))
    return p


class FastEnsemble:
    """Numpy-only copy of a fitted ``EnsembleModel``; ``confidence(row)`` gives the ensemble P(target first)."""

    def __init__(self, model: EnsembleModel) -> None:
        if model.scaler is None or model.logistic is None or model.forest is None or model.xgboost is None:
            raise RuntimeError("the ensemble is not fitted")
        self.features = tuple(model.features)
        self.threshold = float(model.config.threshold)
        self.weights = np.array([model.config.weights[m] for m in MEMBERS])
        self.mean = model.scaler.mean_.astype(np.float64)
        self.scale = model.scaler.scale_.astype(np.float64)
        self.coef = model.logistic.coef_[0].astype(np.float64)
        self.intercept = float(model.logistic.intercept_[0])
        self.forest = flatten_forest(model.forest)
        self.n_forest = len(self.forest.roots)
        self.xgb, self.base_margin = flatten_xgboost(model.xgboost)
        self.calibrators = [model.calibrators.get(m, Calibrator()) for m in MEMBERS]
        self._mirror = _MIRROR

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        side = 1.0 if x[-1] >= 0.5 else -1.0
        z = np.where(self._mirror, 1.0 - x, x) if side < 0 else x
        return np.append(z, side)

    def members(self, row: np.ndarray) -> tuple[float, float, float]:
        """Calibrated (logistic, forest, xgboost) probabilities for one raw ``FEATURES`` row."""
        z = self._inputs(np.asarray(row, dtype=np.float64))
        lin = float(((z - self.mean) / self.scale) @ self.coef) + self.intercept
        p_lr = 1.0 / (1.0 + np.exp(-lin))
        z32 = z.astype(np.float32).astype(np.float64)  # both tree libraries traverse in float32
        p_rf = float(self.forest.value[self.forest.leaves(z32)].sum()) / self.n_forest
        tr = self.xgb.leaves_nan(z32) if np.isnan(z32).any() else self.xgb.leaves(z32)
        p_xgb = 1.0 / (1.0 + np.exp(-(self.base_margin + float(self.xgb.value[tr].sum()))))
        return tuple(_calibrate(c, float(p)) for c, p in zip(self.calibrators, (p_lr, p_rf, p_xgb), strict=True))

    def confidence(self, row: np.ndarray) -> float:
        """Ensemble confidence for one signal (raw ``FEATURES`` in order)."""
        return float(self.weights @ np.asarray(self.members(row)))

    def passes(self, row: np.ndarray) -> bool:
        return self.confidence(row) >= self.threshold

    def confidence_many(self, x: np.ndarray) -> np.ndarray:
        """Row-by-row over a matrix; for batches the library path is as fast."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise ValueError(f"expected an (n, {len(FEATURES)}) matrix of FEATURES")
        return np.array([self.confidence(r) for r in x])
