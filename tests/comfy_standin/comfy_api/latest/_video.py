from __future__ import annotations

import io as _bytes_io


class VideoFromFile:
    """Keeps the file source like ComfyUI's class; decoding is not emulated."""

    def __init__(self, file: str | _bytes_io.BytesIO) -> None:
        self.__file = file

    def get_stream_source(self) -> str | _bytes_io.BytesIO:
        if isinstance(self.__file, _bytes_io.BytesIO):
            self.__file.seek(0)
        return self.__file
