"""Test stand-in for ``comfy_api.latest`` (see tests/comfy_standin/README.md)."""
from __future__ import annotations

from . import _io as io
from . import _ui as ui
from ._video import VideoCodec, VideoComponents, VideoContainer, VideoFromComponents, VideoFromFile


class InputImpl:
    VideoFromFile = VideoFromFile
    VideoFromComponents = VideoFromComponents


class Types:
    VideoComponents = VideoComponents
    VideoContainer = VideoContainer
    VideoCodec = VideoCodec


__all__ = ["io", "ui", "InputImpl", "Types"]
