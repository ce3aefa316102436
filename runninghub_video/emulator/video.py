"""Synthetic result videos whose pixels prove which references arrived.

Every frame is split into N equal vertical bands (N = number of image and video references, images
first, each in request order); band *i* is filled with the mean RGB colour of reference image *i*
(decoded with PIL), or of the first frame of a reference video.
A 16×16 white marker moves along the top ``MARKER_ZONE`` rows so consecutive frames differ.
Sample band colours below that zone and a few pixels away from band edges; after H.264 they
match the reference means within about ±12 per channel.

Encoding is H.264 (libx264 ultrafast), yuv420p, ``facts.OUTPUT_FPS`` fps, ``duration × fps``
frames; with ``sound`` (2.0's generateAudio) an AAC track of a 440 Hz tone as long as the video.
The last frame is also kept as PNG (2.0's ``returnLastFrame`` result). Results are cached by
(colours, options), so identical requests reuse the same bytes. A reference that cannot be
decoded makes the task end FAILED with errorCode 1013.
"""
from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field

from ..remote import facts

MARKER = 16
MARKER_ZONE = 32  # the marker never leaves the top 32 rows
TONE_HZ, SAMPLE_RATE = 440.0, 44100


@dataclass(frozen=True)
class Rendered:
    mp4: bytes = field(repr=False)
    last_frame_png: bytes = field(repr=False)
_CACHE_MAX = 16
_cache: OrderedDict[str, Future] = OrderedDict()
_cache_lock = threading.Lock()


def mean_rgb(image_bytes: bytes) -> tuple[int, int, int]:
    """Mean colour of an uploaded reference (what its band is painted with)."""
    from PIL import Image, ImageStat

    with Image.open(io.BytesIO(image_bytes)) as img:
        stat = ImageStat.Stat(img.convert("RGB"))
    r, g, b = (int(round(c)) for c in stat.mean[:3])
    return r, g, b


def first_frame_rgb(video_bytes: bytes) -> tuple[int, int, int]:
    """Mean colour of the first frame of an uploaded reference video."""
    import av

    with av.open(io.BytesIO(video_bytes)) as container:
        frame = next(container.decode(video=0))
        mean = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
    r, g, b = (int(round(c)) for c in mean)
    return r, g, b


def render(colours: list[tuple[int, int, int]], duration: str, resolution: str, aspect_ratio: str,
           sound: bool = False) -> Future:
    """A future of the Rendered result; starts a daemon encoding thread unless it is cached."""
    key = hashlib.sha256(repr((colours, duration, resolution, aspect_ratio, sound)).encode()).hexdigest()
    with _cache_lock:
        fut = _cache.get(key)
        if fut is not None:
            _cache.move_to_end(key)
            return fut
        fut = Future()
        _cache[key] = fut
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)

    def work() -> None:
        try:
            fut.set_result(encode(colours, int(duration), *facts.output_size(resolution, aspect_ratio), sound=sound))
        except BaseException as exc:  # surfaced to whoever downloads the result
            with _cache_lock:
                _cache.pop(key, None)
            fut.set_exception(exc)

    threading.Thread(target=work, name="emulator-video", daemon=True).start()
    return fut


def encode(colours: list[tuple[int, int, int]], seconds: int, width: int, height: int,
           sound: bool = False) -> Rendered:
    """The MP4 bytes (one band per colour plus a moving marker, a tone with ``sound``) and the
    last frame as PNG."""
    import av
    import numpy as np
    from PIL import Image

    fps = facts.OUTPUT_FPS
    base = np.zeros((height, width, 3), dtype=np.uint8)
    edges = [round(i * width / len(colours)) for i in range(len(colours) + 1)]
    for i, colour in enumerate(colours):
        base[:, edges[i]:edges[i + 1]] = colour
    buf = io.BytesIO()
    frame = base
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if sound else None
        frames = seconds * fps
        travel = max(1, width - MARKER)
        for n in range(frames):
            frame = base.copy()
            x = (n * 8) % travel
            y = (MARKER_ZONE - MARKER) // 2
            frame[y:y + MARKER, x:x + MARKER] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            t = np.arange(seconds * SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
            tone = (0.2 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
            step = 1024  # AAC frame size
            for start in range(0, tone.size, step):
                chunk = av.AudioFrame.from_ndarray(tone[None, start:start + step], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
                for packet in audio.encode(chunk):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    png = io.BytesIO()
    Image.fromarray(frame, "RGB").save(png, format="PNG")
    return Rendered(buf.getvalue(), png.getvalue())
