"""The pack's client package, reached the same way inside ComfyUI and in tests.

ComfyUI loads the pack as one package whose name is its folder path, so ``runninghub_video`` is a
sibling reached relatively; tests and tools put the pack folder on ``sys.path`` instead. Only light
modules are imported here: the pipeline and decoder (requests, numpy, av) load on first use.
"""
from __future__ import annotations

import importlib
from types import ModuleType

if "." in (__package__ or ""):
    from ..runninghub_video import config, errors, events, facts, models, redaction, request
else:  # nodes/ imported as a top-level package (tests, scripts)
    from runninghub_video import config, errors, events, facts, models, redaction, request

PACKAGE = facts.__name__.rpartition(".")[0]

__all__ = ["PACKAGE", "config", "errors", "events", "facts", "models", "redaction", "request", "load"]


def load(module: str) -> ModuleType:
    """``load("pipeline")`` imports ``runninghub_video.pipeline`` at call time (heavy imports stay lazy)."""
    return importlib.import_module(f"{PACKAGE}.{module}")
