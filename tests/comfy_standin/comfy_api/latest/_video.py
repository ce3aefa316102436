"""ComfyUI's file-backed VIDEO as in the newest ``comfy_api/latest/_input_impl/video_types.py``.

Newer ComfyUI's Load Video carries a trim (``start_time``, ``duration``; a negative start counts from
the end) and a crop (x, y, width, height, snapped to even numbers by ``normalize_crop_rect``) on the
VIDEO itself; the file stays untouched and ``get_components`` applies both while decoding. This
stand-in decodes the same way with PyAV so a node's output can be compared with ComfyUI's.
``save_to`` behaves like ComfyUI's: an untouched file is remuxed stream by stream, a trimmed or
cropped one (or frames in memory) is encoded to H.264 with the trim and crop applied.
"""
from __future__ import annotations

import io as _bytes_io
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any


class VideoContainer(str, Enum):
    AUTO = "auto"
    MP4 = "mp4"


class VideoCodec(str, Enum):
    AUTO = "auto"
    H264 = "h264"


def _encode_h264(components: VideoComponents, path: str) -> None:
    import av

    images = components.images
    with av.open(path, mode="w", format="mp4") as out:
        stream = out.add_stream("h264", rate=Fraction(round(components.frame_rate * 1000), 1000))
        stream.width, stream.height, stream.pix_fmt = int(images.shape[2]), int(images.shape[1]), "yuv420p"
        for frame in images:
            rgb = (frame * 255).clamp(0, 255).byte().cpu().numpy()
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")))
        out.mux(stream.encode(None))


@dataclass
class VideoComponents:
    images: Any  # torch float32 [N,H,W,3]
    frame_rate: Fraction
    audio: Any = None
    metadata: dict | None = None
    alpha: Any = None


def normalize_crop_rect(x: int, y: int, width: int, height: int, source_width: int,
                        source_height: int) -> tuple[int, int, int, int] | None:
    """ComfyUI's rule: clamp into the frame, even offsets and sizes; None for no crop at all."""
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        return None
    x = max(0, min(int(x), source_width - 1))
    y = max(0, min(int(y), source_height - 1))
    x -= x % 2
    y -= y % 2
    width, height = min(width, source_width - x), min(height, source_height - y)
    if x == 0 and y == 0 and width == source_width and height == source_height:
        return None
    width -= width % 2
    height -= height % 2
    if width <= 0 or height <= 0:
        return None
    return x, y, width, height


class VideoFromFile:
    def __init__(self, file: str | _bytes_io.BytesIO, *, start_time: float = 0, duration: float = 0,
                 crop: tuple[int, int, int, int] | None = None):
        self.__file = file
        self.__start_time = start_time
        self.__duration = duration
        self.__crop = crop

    def get_stream_source(self) -> str | _bytes_io.BytesIO:
        if isinstance(self.__file, _bytes_io.BytesIO):
            self.__file.seek(0)
        return self.__file

    def _open(self):
        import av

        return av.open(self.get_stream_source(), mode="r")

    def _raw_duration(self) -> float:
        import av

        with self._open() as container:
            return float(container.duration / av.time_base)

    def get_active_trim_window(self) -> tuple[float, float]:
        start = self.__start_time
        if start < 0:
            start = max(self._raw_duration() + start, 0.0)
        return float(start), float(self.__duration)

    def get_dimensions(self) -> tuple[int, int]:
        with self._open() as container:
            stream = container.streams.video[0]
            width, height = stream.width, stream.height
        if self.__crop is None:
            return width, height
        rect = normalize_crop_rect(*self.__crop, width, height)
        return (rect[2], rect[3]) if rect is not None else (width, height)

    def get_frame_rate(self) -> Fraction:
        with self._open() as container:
            rate = container.streams.video[0].average_rate
        return Fraction(rate) if rate else Fraction(1)

    def get_components(self) -> VideoComponents:
        import numpy as np
        import torch

        start, duration = self.get_active_trim_window()
        frames = []
        with self._open() as container:
            stream = container.streams.video[0]
            start_pts = int(start / stream.time_base)
            end_pts = int((start + duration) / stream.time_base)
            if start_pts:
                container.seek(start_pts, stream=stream)
            rect = None
            for frame in container.decode(stream):
                if frame.pts < start_pts:
                    continue
                if duration and frame.pts >= end_pts:
                    break
                img = frame.to_ndarray(format="rgb24")
                if self.__crop is not None:
                    rect = rect or normalize_crop_rect(*self.__crop, img.shape[1], img.shape[0])
                    if rect is not None:
                        x, y, w, h = rect
                        img = img[y:y + h, x:x + w]
                frames.append(torch.from_numpy(np.ascontiguousarray(img)))
            rate = Fraction(stream.average_rate) if stream.average_rate else Fraction(1)
        images = torch.stack(frames).float() / 255.0 if frames else torch.zeros(0, 0, 0, 3)
        return VideoComponents(images=images, frame_rate=rate)

    def save_to(self, path: str, format: VideoContainer = VideoContainer.AUTO,
                codec: VideoCodec = VideoCodec.AUTO, metadata: dict | None = None) -> None:
        import av

        VideoContainer(format), VideoCodec(codec)  # the real one takes only its enum values
        if self.__start_time or self.__duration or self.__crop is not None:
            _encode_h264(self.get_components(), path)
            return
        with self._open() as source, av.open(path, mode="w", format="mp4") as out:
            streams = {s: out.add_stream_from_template(template=s) for s in source.streams
                       if s.type in ("video", "audio")}
            for packet in source.demux(*streams):
                if packet.dts is not None:
                    packet.stream = streams[packet.stream]
                    out.mux(packet)


class VideoFromComponents:
    """A VIDEO made from frames in memory (Create Video): no file behind it."""

    def __init__(self, components: VideoComponents):
        self.__components = components

    def get_components(self) -> VideoComponents:
        return VideoComponents(images=self.__components.images, frame_rate=self.__components.frame_rate)

    def get_dimensions(self) -> tuple[int, int]:
        return int(self.__components.images.shape[2]), int(self.__components.images.shape[1])

    def save_to(self, path: str, format: VideoContainer = VideoContainer.AUTO,
                codec: VideoCodec = VideoCodec.AUTO, metadata: dict | None = None) -> None:
        VideoContainer(format), VideoCodec(codec)
        _encode_h264(self.__components, path)
