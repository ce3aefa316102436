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
    from ..runninghub_video.core import errors, events, money
    from ..runninghub_video.remote import config, facts, models, request
    from ..runninghub_video.words import wording
else:  # nodes/ imported as a top-level package (tests, scripts)
    from runninghub_video.core import errors, events, money
    from runninghub_video.remote import config, facts, models, request
    from runninghub_video.words import wording

PACKAGE = facts.__name__.rsplit(".", 2)[0]
LAYERS = ("core", "remote", "media", "ledger", "words", "run")

__all__ = ["PACKAGE", "config", "errors", "events", "facts", "models", "money", "request", "wording"]


def __getattr__(name: str) -> ModuleType:
    """``from .client_package import pipeline`` imports ``runninghub_video.run.pipeline`` then, not at load."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for layer in LAYERS:
        try:
            return importlib.import_module(f"{PACKAGE}.{layer}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{PACKAGE}.{layer}.{name}":
                raise  # a dependency of that module is missing: say which
    raise AttributeError(f"{PACKAGE} has no module {name!r}")
