from __future__ import annotations

import io as _bytes_io
import shutil
from enum import Enum


class VideoContainer(str, Enum):
    AUTO = "auto"
    MP4 = "mp4"


class VideoCodec(str, Enum):
    AUTO = "auto"
    H264 = "h264"


class VideoFromFile:
    """Keeps the file source like ComfyUI's class; decoding is not emulated."""

    def __init__(self, file: str | _bytes_io.BytesIO) -> None:
        self.__file = file

    def get_stream_source(self) -> str | _bytes_io.BytesIO:
        if isinstance(self.__file, _bytes_io.BytesIO):
            self.__file.seek(0)
        return self.__file

    def save_to(self, path: str, format: VideoContainer = VideoContainer.AUTO,
                codec: VideoCodec = VideoCodec.AUTO, metadata: dict | None = None) -> None:
        """ComfyUI remuxes an untouched H.264 MP4 into ``path``; a byte copy stands in for that."""
        VideoContainer(format), VideoCodec(codec)  # the real one accepts only its enum values
        source = self.get_stream_source()
        with open(path, "wb") as out:
            if isinstance(source, _bytes_io.BytesIO):
                out.write(source.read())
            else:
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out)
