"""The TWS API client library: ``ib_insync`` (MIA's named dependency) or ``ib_async``, its maintained fork.

Both expose the same API (``IB``, ``Future``, ``MarketOrder`` ...). ``MIA_IB_API`` picks one
(``ib_insync`` by default); when the chosen one cannot be imported the other is used, and the log
says which runs. Everything else in the adapter goes through ``lib()``.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType

log = logging.getLogger(__name__)
CHOICES = ("ib_insync", "ib_async")
_loaded: dict[str, ModuleType] = {}


def lib(name: str | None = None) -> ModuleType:
    """The client module: ``name``, else ``MIA_IB_API``, else ``ib_insync``; the other one as fallback."""
    wanted = (name or os.environ.get("MIA_IB_API", "") or CHOICES[0]).strip()
    if wanted not in CHOICES:
        raise ValueError(f"MIA_IB_API={wanted!r} must be one of {', '.join(CHOICES)}")
    if wanted in _loaded:
        return _loaded[wanted]
    order = [wanted] + [c for c in CHOICES if c != wanted]
    for candidate in order:
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            log.warning("TWS API client %s is not installed", candidate)
            continue
        if candidate != wanted:
            log.warning("using %s instead of %s", candidate, wanted)
        _loaded[wanted] = module
        return module
    raise ImportError("neither ib_insync nor ib_async is installed (pip install -r requirements.txt)")
