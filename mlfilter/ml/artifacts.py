"""Model artifacts on disk: versioned, hash-checked, and never pickled.

A pickle runs arbitrary code when loaded, and a model directory is exactly the kind of file that gets
copied between machines. So: XGBoost in its own JSON format, scikit-learn members through skops
(which loads only an allowlist of types), calibrators as plain numbers in the manifest. The manifest
carries ``FORMAT_VERSION`` and the feature list; ``load_model`` refuses anything else (the paperless-ngx
classifier pattern, STYLE section 10), because a model silently fed columns in another order still
returns plausible-looking probabilities.

Layout of a model directory::

    manifest.json  scaler.skops  logistic.skops  forest.skops  xgboost.json
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.ensemble import Calibrator, EnsembleConfig, EnsembleModel
from mlfilter.ml.errors import ModelFormatError

__all__ = ["FORMAT_VERSION", "ModelFormatError", "data_hash", "load_model", "save_model"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SKOPS_MEMBERS = ("scaler", "logistic", "forest")
# the only non-default types our members contain; anything else in a file means it is not ours
_TRUSTED = frozenset({"sklearn.tree._tree.Tree"})


def data_hash(x: np.ndarray, y: np.ndarray | None = None) -> str:
    """sha256 of the training matrix (float64, C order) and labels: identifies the data a model saw."""
    h = hashlib.sha256(np.ascontiguousarray(np.asarray(x, dtype=np.float64)).tobytes())
    if y is not None:
        h.update(np.ascontiguousarray(np.asarray(y, dtype=np.int64)).tobytes())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    import sklearn
    import skops
    import xgboost

    return {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "xgboost": xgboost.__version__,
            "skops": skops.__version__}


def save_model(model: EnsembleModel, directory: str | Path) -> dict[str, Any]:
    """Write ``model`` into ``directory`` (created) and return the manifest written with it.

    ``model.meta`` supplies model_version, metrics, data_hash, training_window, samples and the drift
    baseline when the trainer set them.
    """
    import skops.io as sio

    if model.xgboost is None or any(getattr(model, m) is None for m in _SKOPS_MEMBERS):
        raise ValueError("cannot save an unfitted ensemble")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name in _SKOPS_MEMBERS:
        path = out / f"{name}.skops"
        sio.dump(getattr(model, name), path)
        files[path.name] = _sha256(path)
    xgb_path = out / "xgboost.json"
    model.xgboost.save_model(xgb_path)
    files[xgb_path.name] = _sha256(xgb_path)
    meta = model.meta
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_version": meta.get("model_version", ""),
        "features": list(model.features),
        "inputs": list(model.inputs),
        "params": model.config.to_dict(),
        "calibrators": {k: c.to_dict() for k, c in model.calibrators.items()},
        "metrics": meta.get("metrics", {}),
        "data_hash": meta.get("data_hash", ""),
        "training_window": meta.get("training_window", {}),
        "samples": meta.get("samples"),
        "feature_importances": model.feature_importances(),
        "drift_baseline": meta.get("drift_baseline", {}),
        "libraries": _versions(),
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=False, default=_json_default) + "\n")
    return manifest


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelFormatError(f"{directory}: no {MANIFEST}") from exc
    except (OSError, ValueError) as exc:
        raise ModelFormatError(f"{path}: unreadable manifest ({exc})") from exc


def load_model(directory: str | Path, expected_features: Sequence[str] = FEATURES) -> EnsembleModel:
    """Load a model saved by ``save_model``; raise ``ModelFormatError`` unless it is exactly compatible."""
    import skops.io as sio
    from xgboost import XGBClassifier

    src = Path(directory)
    man = read_manifest(src)
    if man.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{src}: model format {man.get('format_version')!r}, this code reads {FORMAT_VERSION}")
    if list(man.get("features", [])) != list(expected_features):
        raise ModelFormatError(f"{src}: model features {man.get('features')} differ from expected "
                               f"{list(expected_features)}")
    for name, digest in man.get("files", {}).items():
        path = src / name
        if not path.is_file() or _sha256(path) != digest:
            raise ModelFormatError(f"{src}: {name} is missing or does not match its manifest hash")
    members: dict[str, Any] = {}
    for name in _SKOPS_MEMBERS:
        path = src / f"{name}.skops"
        untrusted = set(sio.get_untrusted_types(file=path))
        if untrusted - _TRUSTED:
            raise ModelFormatError(f"{path}: refuses to load unexpected types {sorted(untrusted - _TRUSTED)}")
        members[name] = sio.load(path, trusted=sorted(untrusted))
    xgb = XGBClassifier()
    xgb.load_model(src / "xgboost.json")
    try:
        config = EnsembleConfig(**man["params"])
        calibrators = {k: Calibrator(**v) for k, v in man.get("calibrators", {}).items()}
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"{src}: bad parameters in manifest ({exc})") from exc
    meta = {k: man.get(k) for k in ("model_version", "metrics", "data_hash", "training_window", "samples",
                                    "drift_baseline")}
    return EnsembleModel(config=config, xgboost=xgb, calibrators=calibrators, features=tuple(man["features"]),
                         inputs=tuple(man.get("inputs", ())), meta=meta, **members)
