"""MP4 -> float frames (ComfyUI IMAGE layout) with PyAV, into one preallocated array.

Result videos are ~120 frames of 1248x704, i.e. ~1.3 GB as float32, so the decoder writes each frame
straight into its slot of a single array: no list of frames, no stack, no second full-size copy.
PyAV and numpy are imported inside functions so importing the pack stays fast.
"""
from __future__ import annotations

import math
import os
import sys
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

from ..remote import facts
from . import memory
from ..core.errors import ResourceError, ValidationError
from ..core.events import CancelCheck, check_cancel

_GROW_MIN = 16  # frames added when the container under-reported its length
_CONVERT_THREADS_MAX = 4  # worker threads that convert frames: one per two cores, at most this many
_IN_FLIGHT = 4  # decoded frames queued for conversion (1.3 MB of YUV each at 1248x704): bounds the extra RAM
_CONVERT_NICE = 10  # Linux: converters yield the CPU to the decoder's threads, the critical path


@dataclass
class DecodedVideo:
    frames: Any  # np.ndarray float32 [N,H,W,3] in 0–1
    fps: float  # rate of the returned frames: the source rate divided by every_nth
    width: int
    height: int
    frame_count: int  # N, the number of returned frames
    source_fps: float = 0.0  # rate of the file itself


def decode_video(path: str | Path, max_frames: int = 0, every_nth: int = 1, *,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_cancel: CancelCheck | None = None) -> DecodedVideo:
    """All frames (or every n-th, at most ``max_frames`` when > 0) as float32 RGB in 0–1.

    ``on_progress(done, expected)`` is called after each returned frame (``expected`` from the
    headers, 0 when they do not say); ``should_cancel`` is checked before each frame and raises
    :class:`~.errors.Interrupted`. Refuses, before allocating, when the frames do not fit in the
    memory available, naming a ``max_frames`` or ``every_nth`` that would.
    """
    import av
    import numpy as np
    from av.video.reformatter import VideoReformatter

    if not isinstance(every_nth, int) or every_nth < 1:
        raise ValidationError(f"every_nth must be a whole number ≥ 1 (1 keeps every frame), not {every_nth!r}.")
    if not isinstance(max_frames, int) or max_frames < 0:
        raise ValidationError(f"max_frames must be a whole number ≥ 0 (0 means all frames), not {max_frames!r}.")
    container, stream = _open(path)
    try:
        estimate, exact = _frame_estimate(container, stream)
        expected = -(-estimate // every_nth)  # frames to return, as far as the headers tell
        if max_frames:
            expected = min(expected, max_frames)
        wanted = expected if exact else expected + expected // 32 + 2  # trimming is cheap, growing is not
        capacity = max(1, wanted) if estimate else min(max_frames or _GROW_MIN, _GROW_MIN)
        ctx = stream.codec_context
        _check_room(path, expected, every_nth, int(ctx.width), int(ctx.height), estimate)
        stream.thread_type = "AUTO"  # frame + slice threads: the decoder is the bottleneck
        scale = np.float32(1 / 255)
        frames = None
        width = height = 0
        count = index = 0
        per_thread = threading.local()  # one reformatter (swscale context) per thread, set up once

        def convert(frame: Any, slot: int) -> None:
            reformatter = getattr(per_thread, "reformatter", None)
            if reformatter is None:
                reformatter = per_thread.reformatter = VideoReformatter()
            # threads=1: the converters already run in parallel; a size change mid-stream is scaled
            # to the first frame's, to keep one geometry for the whole array
            rgb = reformatter.reformat(frame, format="rgb24", width=width, height=height, threads=1).to_ndarray()
            out = frames[slot]
            memory.fault_in(out)
            np.multiply(rgb, scale, out=out, casting="unsafe")

        # Converting to RGB and float (and backing the fresh ~1.3 GB array) costs more than decoding,
        # so it runs in worker threads (swscale, the kernel and numpy all release the GIL) while this
        # thread only keeps the decoder fed.
        converter = _Converter(convert)
        try:
            for frame in container.decode(stream):
                check_cancel(should_cancel)
                index += 1
                if (index - 1) % every_nth:
                    continue
                if frames is None:
                    width, height = frame.width, frame.height
                    frames = memory.buffer((capacity, height, width, 3))
                elif count == frames.shape[0]:  # the headers under-counted (MKV, raw streams): rare
                    converter.drain()  # nothing may be writing into the old block
                    bigger = memory.buffer((count + max(_GROW_MIN, count // 4), height, width, 3))
                    bigger[:count] = frames[:count]
                    frames = bigger
                converter.submit(frame, count)
                count += 1
                if on_progress is not None:
                    on_progress(count, expected)
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
        frames = frames[:count]  # the tail was never written, so it holds no memory
    return DecodedVideo(frames=frames, fps=source_fps / every_nth, width=width, height=height,
                        frame_count=count, source_fps=source_fps)


def _check_room(path: str | Path, frames: int, every_nth: int, width: int, height: int, in_file: int) -> None:
    """Refuse before allocating if ``frames`` frames cannot fit in the memory available right now
    (a bare "Cannot allocate memory", or the OOM killer once overcommit let the map succeed, would
    be all the user got otherwise)."""
    available = memory.available_bytes()
    frame_bytes = width * height * 3 * 4
    if available is None or not frame_bytes or not frames:
        return
    room = int(available * memory.HEADROOM)
    if frames * frame_bytes <= room:
        return
    fit = room // frame_bytes
    if fit < 1:
        raise ResourceError(f"Not enough memory to decode even one {width}×{height} frame of {path}: "
                            f"{frame_bytes / 1e9:.2f} GB needed, {available / 1e9:.2f} GB available.",
                            code="memory_frame", details={"width": width, "height": height,
                                                          "needed": f"{frame_bytes / 1e9:.2f}",
                                                          "available": f"{available / 1e9:.2f}"})
    nth = max(-(-in_file // fit), every_nth + 1)
    raise ResourceError(
        f"Decoding {frames} frames of {width}×{height} needs {frames * frame_bytes / 1e9:.1f} GB of memory, "
        f"but only {available / 1e9:.1f} GB is available.",
        advice=f"Set max_frames to {fit} or less, or every_nth to {nth} or more "
               f"(or close other programs).", code="memory_frames",
        details={"frames": frames, "width": width, "height": height, "needed": f"{frames * frame_bytes / 1e9:.1f}",
                 "available": f"{available / 1e9:.1f}", "fit": fit, "nth": nth})


def probe_video(path: str | Path | BinaryIO) -> tuple[int, int, float, int]:
    """(width, height, fps, frame_count) from the container headers, without decoding; ``path`` may
    also be a video in memory (a binary file object, such as a ComfyUI VIDEO's BytesIO source)."""
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


# --- helpers -------------------------------------------------------------------------------
class _Converter:
    """Runs ``convert(frame, slot)`` in worker threads while the caller keeps decoding.

    At most _IN_FLIGHT frames wait in the queue: when it is full, the caller converts the frame
    itself rather than wait, and drain() has the caller help with what is left, so workers that
    run at a lower priority (Linux) never hold the decoding thread up. close() returns only once no
    worker writes into the array any more.
    """

    def __init__(self, convert: Callable[[Any, int], None]) -> None:
        self._convert = convert
        self._queue: Any = deque()
        self._changed = threading.Condition()
        self._running = 0  # jobs a worker has taken and not finished
        self._closed = False
        self._error: BaseException | None = None
        self._workers = [threading.Thread(target=self._work, name="decode-convert", daemon=True)
                         for _ in range(_worker_count())]
        for worker in self._workers:
            worker.start()

    def submit(self, frame: Any, slot: int) -> None:
        with self._changed:
            self._raise_error()
            if len(self._queue) < _IN_FLIGHT:
                self._queue.append((frame, slot))
                self._changed.notify()
                return
        self._convert(frame, slot)

    def drain(self) -> None:
        """Return once every submitted frame is converted (the caller converts queued ones too)."""
        while True:
            with self._changed:
                if not self._queue:
                    while self._running:
                        self._changed.wait()
                    self._raise_error()
                    return
                job = self._queue.popleft()
            self._convert(*job)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._queue.clear()
            self._changed.notify_all()
        for worker in self._workers:
            worker.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        _lower_priority()
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                job = self._queue.popleft()
                self._running += 1
            try:
                self._convert(*job)
            except BaseException as exc:  # handed to the decoding thread by submit() or drain()
                self._error = exc
            finally:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()


def _worker_count() -> int:
    """One converter per two cores: the decoder's own threads need the rest.

    On 2 cores one worker (plus the decoding thread when the queue is full) was as fast as two and
    peaked ~6 MB lower; more cores decode faster, so more workers keep up (not measured here).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, min(_CONVERT_THREADS_MAX, cores // 2))


def _lower_priority() -> None:
    """Raise the calling thread's nice value (Linux only: elsewhere nice is per process, or absent)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _CONVERT_NICE)
        except OSError:
            pass


def _open(path: str | Path | BinaryIO) -> tuple[Any, Any]:
    import av

    if hasattr(path, "read"):
        p, source = "the video in memory", path
    else:
        p = source = Path(path)
        if not p.is_file():
            raise ValidationError(f"Video file not found: {p}.")
    try:
        container = av.open(source if hasattr(source, "read") else str(source))
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
