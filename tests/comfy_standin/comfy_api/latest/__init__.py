"""Test stand-in for ``comfy_api.latest`` (see tests/comfy_standin/README.md)."""
from __future__ import annotations

from . import _io as io
from . import _ui as ui
from ._video import VideoCodec, VideoContainer, VideoFromFile


class InputImpl:
    VideoFromFile = VideoFromFile


class Types:
    VideoCodec = VideoCodec
    VideoContainer = VideoContainer


__all__ = ["io", "ui", "InputImpl", "Types"]
