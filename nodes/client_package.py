"""The pack's client package (``runninghub_video``) as the nodes import it, inside ComfyUI and in tests.

ComfyUI loads the pack as one package named after its folder path, so ``runninghub_video`` is a
sibling package reached relatively; tests and tools put the pack folder on ``sys.path`` and import
``nodes`` at top level. This module is the one place that knows both ways. Light modules are
imported here; the heavy ones (requests, numpy, av behind them) are imported on first use by an
ordinary ``from .client_package import pipeline`` inside a node's ``execute``, so loading the pack
stays fast.
"""
from __future__ import annotations

import importlib
from types import ModuleType

if "." in (__package__ or ""):
    from ..runninghub_video import config, errors, events, facts, models, money, request, wording
else:  # nodes/ imported as a top-level package (tests, scripts)
    from runninghub_video import config, errors, events, facts, models, money, request, wording

PACKAGE = facts.__name__.rpartition(".")[0]

__all__ = ["PACKAGE", "config", "errors", "events", "facts", "models", "money", "request", "wording"]


def __getattr__(name: str) -> ModuleType:
    """``from .client_package import pipeline`` imports ``runninghub_video.pipeline`` then, not at load."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{PACKAGE}.{name}":
            raise  # a dependency of that module is missing: say which
        raise AttributeError(f"{PACKAGE} has no module {name!r}") from None
