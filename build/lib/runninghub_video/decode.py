"""MP4 -> float frames (ComfyUI IMAGE layout) with PyAV, into one preallocated array.

Result videos are ~120 frames of 1248x704, i.e. ~1.3 GB as float32, so the decoder writes each frame
straight into its slot of a single array: no list of frames, no stack, no second full-size copy.
PyAV and numpy are imported inside functions so importing the pack stays fast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import facts
from .errors import ValidationError

_GROW_MIN = 16  # frames added when the container under-reported its length
_CONVERT_THREADS = 2  # float conversion is bound by first-touch page faults, which parallelise
_IN_FLIGHT = 8  # decoded uint8 frames awaiting conversion (~21 MB at 1248x704): bounds the extra RAM


@dataclass
class DecodedVideo:
    frames: Any  # np.ndarray float32 [N,H,W,3] in 0–1
    fps: float  # rate of the returned frames: the source rate divided by every_nth
    width: int
    height: int
    frame_count: int  # N, the number of returned frames
    source_fps: float = 0.0  # rate of the file itself


def decode_video(path: str | Path, max_frames: int = 0, every_nth: int = 1) -> DecodedVideo:
    """All frames (or every n-th, at most ``max_frames`` when > 0) as float32 RGB in 0–1."""
    import av
    import numpy as np

    if not isinstance(every_nth, int) or every_nth < 1:
        raise ValidationError(f"every_nth must be a whole number ≥ 1 (1 keeps every frame), not {every_nth!r}.")
    if not isinstance(max_frames, int) or max_frames < 0:
        raise ValidationError(f"max_frames must be a whole number ≥ 0 (0 means all frames), not {max_frames!r}.")
    container, stream = _open(path)
    try:
        estimate, exact = _frame_estimate(container, stream)
        wanted = -(-estimate // every_nth)
        if not exact:
            wanted += wanted // 32 + 2  # over-estimate a little: trimming is cheap, growing is not
        if not estimate:  # nothing in the headers: start small and grow
            capacity = min(max_frames, _GROW_MIN) if max_frames else _GROW_MIN
        else:
            capacity = max(1, min(wanted, max_frames) if max_frames else wanted)
        stream.thread_type = "AUTO"  # frame + slice threads: the decoder is the bottleneck
        scale = np.float32(1 / 255)
        frames = None
        width = height = 0
        count = index = 0
        # Converting to float (and first-touching the fresh ~1.3 GB array) costs more than decoding,
        # so it runs in worker threads (numpy releases the GIL) while this thread keeps decoding.
        converter = _Converter()
        try:
            for frame in container.decode(stream):
                index += 1
                if (index - 1) % every_nth:
                    continue
                if frames is None:
                    width, height = frame.width, frame.height
                    frames = _frame_array(capacity, height, width)
                elif count == frames.shape[0]:  # the headers under-counted (MKV, raw streams): rare
                    converter.drain()  # nothing may be writing into the old block
                    bigger = _frame_array(count + max(_GROW_MIN, count // 4), height, width)
                    bigger[:count] = frames[:count]
                    frames = bigger
                if frame.width == width and frame.height == height:
                    rgb = frame.to_ndarray(format="rgb24")
                else:  # a mid-stream size change: keep one geometry for the whole array
                    rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                converter.submit(np.multiply, rgb, scale, out=frames[count], casting="unsafe")
                count += 1
                if max_frames and count >= max_frames:
                    break
            converter.drain()
        except av.FFmpegError as exc:
            raise ValidationError(f"The video {path} could not be decoded after {count} frames ({exc}).") from None
        finally:
            converter.close()
        source_fps = _fps(stream)
    finally:
        container.close()
    if frames is None or count == 0:
        raise ValidationError(f"The video {path} contains no decodable frames.")
    if count < frames.shape[0]:
        frames = frames[:count]  # the tail was never touched, so it holds no memory
    return DecodedVideo(frames=frames, fps=source_fps / every_nth, width=width, height=height,
                        frame_count=count, source_fps=source_fps)


def probe_video(path: str | Path) -> tuple[int, int, float, int]:
    """(width, height, fps, frame_count) from the container headers, without decoding."""
    container, stream = _open(path)
    try:
        estimate, _ = _frame_estimate(container, stream)
        ctx = stream.codec_context
        return int(ctx.width), int(ctx.height), _fps(stream), int(estimate)
    finally:
        container.close()


def contact_sheet(frames: Any, columns: int = 4, thumb_width: int = 320, count: int = 8) -> Any:
    """A PIL image: a grid of ``count`` evenly spaced frames (for the demo CLI)."""
    import numpy as np
    from PIL import Image

    if columns < 1 or thumb_width < 1 or count < 1:
        raise ValidationError("contact_sheet needs columns, thumb_width and count of at least 1.")
    total = len(frames)
    if total == 0:
        raise ValidationError("contact_sheet got no frames.")
    height, width = frames[0].shape[:2]
    picks = sorted(set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist()))
    thumb_height = max(1, round(height * thumb_width / width))
    cols = min(columns, len(picks))
    rows = -(-len(picks) // cols)
    gap = 6  # a dark gutter, so neighbouring frames read as separate pictures
    sheet = Image.new("RGB", (cols * (thumb_width + gap) + gap, rows * (thumb_height + gap) + gap), (24, 24, 24))
    for slot, i in enumerate(picks):
        frame = np.asarray(frames[i])
        if frame.dtype != np.uint8:
            frame = (np.clip(np.nan_to_num(frame), 0, 1) * 255 + 0.5).astype(np.uint8)
        thumb = Image.fromarray(frame[..., :3]).resize((thumb_width, thumb_height), Image.Resampling.BILINEAR)
        sheet.paste(thumb, (gap + (slot % cols) * (thumb_width + gap), gap + (slot // cols) * (thumb_height + gap)))
    return sheet


# --- helpers -------------------------------------------------------------------------------
def first_frame_jpeg(path: str | Path, width: int = 240, quality: int = 80) -> bytes:
    """The first frame as a small JPEG (the inbox's thumbnail of a saved video)."""
    import io

    from PIL import Image

    container, stream = _open(path)
    try:
        frame = next(container.decode(stream), None)
        if frame is None:
            raise ValidationError(f"{path} has no frames.")
        image = frame.to_image()
    finally:
        container.close()
    image.thumbnail((width, width * 4), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _frame_array(capacity: int, height: int, width: int) -> Any:
    """A float32 [capacity,H,W,3] array in fresh anonymous memory, not from numpy's allocator.

    numpy asks Linux for transparent huge pages on large arrays; where THP defrag is "madvise"
    (Debian/Ubuntu's default) the first touch of each huge page may compact memory, and filling
    1.3 GB took 2.8 s instead of 0.5 s on the test machine. Pages of an anonymous map are only
    backed once written, so over-estimating the frame count costs no memory.
    """
    import mmap

    import numpy as np

    items = max(1, capacity * height * width * 3)
    return np.frombuffer(mmap.mmap(-1, items * 4), dtype=np.float32, count=items).reshape(
        capacity, height, width, 3)


class _Converter:
    """A small thread pool with at most _IN_FLIGHT queued jobs; drain() waits for all of them."""

    def __init__(self) -> None:
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(_CONVERT_THREADS, thread_name_prefix="decode-convert")
        self._pending: Any = deque()

    def submit(self, fn: Any, *args: Any, **kw: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args, **kw))
        while len(self._pending) > _IN_FLIGHT:
            self._pending.popleft().result()

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)  # never return while a worker still writes into the array


def _open(path: str | Path) -> tuple[Any, Any]:
    import av

    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"Video file not found: {p}.")
    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ValidationError(f"{p} is not a readable video ({exc}).") from None
    if not container.streams.video:
        container.close()
        raise ValidationError(f"{p} has no video stream.")
    return container, container.streams.video[0]


def _frame_estimate(container: Any, stream: Any) -> tuple[int, bool]:
    """(frame count, exact?) from headers: MP4 stores the count; otherwise duration × rate."""
    import av

    if stream.frames and stream.frames > 0:
        return int(stream.frames), True
    rate = stream.average_rate or stream.guessed_rate
    seconds = None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    if rate and seconds:
        return max(0, math.ceil(seconds * float(rate))), False
    return 0, False


def _fps(stream: Any) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    # No rate in the headers at all: fall back to what RunningHub produces.
    return float(rate) if rate else float(facts.OUTPUT_FPS)
