"""Synthetic result videos whose pixels prove which references arrived.

Every frame is split into N equal vertical bands (N = number of ``imageUrls``, left to right in
request order); band *i* is filled with the mean RGB colour of reference *i* (decoded with PIL).
A 16×16 white marker moves along the top ``MARKER_ZONE`` rows so consecutive frames differ.
Sample band colours below that zone and a few pixels away from band edges; after H.264 they
match the reference means within about ±12 per channel.

Encoding is H.264 (libx264 ultrafast), yuv420p, ``facts.OUTPUT_FPS`` fps, ``duration × fps``
frames, no audio. Results are cached by (colours, options), so identical requests reuse the same
bytes. A reference PIL cannot decode makes the task end FAILED with errorCode 1013.
"""
from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from concurrent.futures import Future

from .. import facts

MARKER = 16
MARKER_ZONE = 32  # the marker never leaves the top 32 rows
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


def render(colours: list[tuple[int, int, int]], duration: str, resolution: str, aspect_ratio: str) -> Future:
    """A future of the MP4 bytes; starts a daemon encoding thread unless the result is cached."""
    key = hashlib.sha256(repr((colours, duration, resolution, aspect_ratio)).encode()).hexdigest()
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
            fut.set_result(encode(colours, int(duration), *facts.output_size(resolution, aspect_ratio)))
        except BaseException as exc:  # surfaced to whoever downloads the result
            with _cache_lock:
                _cache.pop(key, None)
            fut.set_exception(exc)

    threading.Thread(target=work, name="emulator-video", daemon=True).start()
    return fut


def encode(colours: list[tuple[int, int, int]], seconds: int, width: int, height: int) -> bytes:
    """The MP4 bytes: one band per colour plus a moving marker."""
    import av
    import numpy as np

    fps = facts.OUTPUT_FPS
    base = np.zeros((height, width, 3), dtype=np.uint8)
    edges = [round(i * width / len(colours)) for i in range(len(colours) + 1)]
    for i, colour in enumerate(colours):
        base[:, edges[i]:edges[i + 1]] = colour
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
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
    return buf.getvalue()
