"""The last frame of a result video, saved as a PNG beside the MP4, for chaining clips.

RunningHub's own last-frame image is used when the task sent one (``returnLastFrame``); otherwise,
or when fetching it fails, the frame is decoded from the MP4 here. The MP4 is the paid result:
nothing in this module may fail a run that already has its video, except a video that cannot be
decoded at all.
"""
from __future__ import annotations

import io
import logging
import math
from pathlib import Path
from typing import Any

from ..core.events import CancelCheck
from ..core.files import write_atomically

log = logging.getLogger("RunningHub")
SUFFIX = "_last_frame.png"
MAX_IMAGE_BYTES = 50 * 1024 * 1024
TAIL_SECONDS = 2.0  # seek this far before the end, then decode forward to the last frame
# Our cap on a saved last frame: twice 4k's pixels (the largest output documented). A larger result
# is converted scaled down; a larger image from RunningHub is not decoded (the MP4's frame is used).
MAX_RESULT_PIXELS = 2 * 3840 * 2160


def path_for(video_path: str | Path) -> Path:
    video_path = Path(video_path)
    return video_path.with_name(video_path.stem + SUFFIX)


def save(video_path: str | Path, session: Any = None, image_url: str = "",
         should_cancel: CancelCheck | None = None) -> Path:
    """The PNG of the video's last frame (already there, RunningHub's image, or decoded)."""
    target = path_for(video_path)
    if target.is_file():
        return target
    if image_url and session is not None:
        try:
            _write_png(_fetch_image(session, image_url, should_cancel), target)
            return target
        except Exception as exc:  # the video is what was paid for: fall back to decoding it
            log.warning("RunningHub: last-frame image not used (%s: %s); decoding it from the video",
                        type(exc).__name__, exc)
    _write_png(last_frame_rgb(video_path), target)
    return target


def last_frame_rgb(video_path: str | Path) -> Any:
    """uint8 [H, W, 3] of the final frame: seek near the end, decode forward, keep the last."""
    import av

    from ..core.errors import ValidationError

    try:
        with av.open(str(video_path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            last = None
            if stream.duration is not None and stream.time_base is not None:
                start = max(0, int(stream.duration - TAIL_SECONDS / stream.time_base))
                container.seek(start + (stream.start_time or 0), stream=stream, backward=True)
                for frame in container.decode(stream):
                    last = frame
            if last is None:  # no usable duration, or the seek landed past the end: read it all
                container.seek(0)
                for frame in container.decode(stream):
                    last = frame
    except (av.error.FFmpegError, IndexError) as exc:
        raise ValidationError(f"Could not read the last frame of {Path(video_path).name} ({exc}).") from None
    if last is None:
        raise ValidationError(f"{Path(video_path).name} has no video frames.")
    size = capped_size(last.width, last.height)
    if size != (last.width, last.height):
        log.info("RunningHub: the last frame of %s is %dx%d; saved scaled to %dx%d (at most %d megapixels).",
                 Path(video_path).name, last.width, last.height, *size, MAX_RESULT_PIXELS // 10**6)
    return last.to_ndarray(format="rgb24", width=size[0], height=size[1])  # scaled while converted


def capped_size(width: int, height: int) -> tuple[int, int]:
    """``width`` x ``height``, scaled down (aspect kept) to at most :data:`MAX_RESULT_PIXELS`."""
    if width * height <= MAX_RESULT_PIXELS:
        return width, height
    scale = math.sqrt(MAX_RESULT_PIXELS / (width * height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def load_rgb(png_path: str | Path) -> Any:
    """A saved last frame as uint8 [H, W, 3]."""
    import numpy as np
    from PIL import Image

    with Image.open(png_path) as image:
        return np.asarray(image.convert("RGB"))


def _fetch_image(session: Any, url: str, should_cancel: CancelCheck | None) -> Any:
    from PIL import Image

    from ..core.events import check_cancel
    from ..remote.download import check_url, open_following_safe_redirects

    check_url(url)
    check_cancel(should_cancel)
    with open_following_safe_redirects(session, url, what="The last-frame image",
                                       should_cancel=should_cancel) as response:
        response.raise_for_status()
        data = response.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError("last-frame image too large")
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_RESULT_PIXELS:  # read from the header: never decoded
            raise ValueError(f"last-frame image is {image.width}x{image.height}, over "
                             f"{MAX_RESULT_PIXELS // 10**6} megapixels")
        return image.convert("RGB")


def _write_png(image: Any, target: Path) -> None:
    """Atomically: a half-written PNG never carries the final name."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(image, "RGB")
    write_atomically(target, lambda f: image.save(f, format="PNG", compress_level=1), private=False)
