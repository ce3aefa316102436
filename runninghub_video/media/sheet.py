"""A batch's contact sheet: the first frame of each video in a grid, each labelled (CLI and node alike)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..core.errors import ValidationError

THUMB_WIDTH = 320
GAP = 6
LABEL_HEIGHT = 22
BACKGROUND, INK = (24, 24, 24), (235, 235, 235)


def first_frame(path: str | Path) -> Any:
    """The first frame of a video as a ``[H,W,3]`` uint8 array."""
    import numpy as np

    from .decode import decode_video

    frames = decode_video(path, max_frames=1).frames
    if len(frames) == 0:
        raise ValidationError(f"The video {path} has no frames.")
    frame = np.asarray(frames[0])
    return frame if frame.dtype == np.uint8 else (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)


def labelled_sheet(videos: Sequence[str | Path], labels: Sequence[str], columns: int | None = None) -> Any:
    """A PIL image: one cell per video (its first frame, then its label underneath), about square."""
    frames = [first_frame(v) for v in videos]
    return labelled_grid(frames, labels, columns)


def labelled_grid(frames: Sequence[Any], labels: Sequence[str], columns: int | None = None) -> Any:
    """``frames`` (``[H,W,3]`` uint8 arrays, any sizes) as a grid of equal-width cells with a label each."""
    from PIL import Image, ImageDraw

    if not frames:
        raise ValidationError("A contact sheet needs at least one video.")
    cols = columns or math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / cols)
    thumbs = [Image.fromarray(f[..., :3]) for f in frames]
    thumb_h = max(round(t.height * THUMB_WIDTH / t.width) for t in thumbs)
    cell_h = thumb_h + LABEL_HEIGHT
    sheet = Image.new("RGB", (cols * (THUMB_WIDTH + GAP) + GAP, rows * (cell_h + GAP) + GAP), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for i, (thumb, label) in enumerate(zip(thumbs, labels)):
        x, y = GAP + (i % cols) * (THUMB_WIDTH + GAP), GAP + (i // cols) * (cell_h + GAP)
        sized = thumb.resize((THUMB_WIDTH, round(thumb.height * THUMB_WIDTH / thumb.width)),
                             Image.Resampling.BILINEAR)
        sheet.paste(sized, (x, y))
        draw.text((x + 4, y + thumb_h + 4), _fit(draw, str(label), font), fill=INK, font=font)
    return sheet


def _font() -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=14)  # Pillow ≥ 10.1: a scalable font
    except TypeError:
        return ImageFont.load_default()


def _fit(draw: Any, text: str, font: Any) -> str:
    """The label cut with an ellipsis to the cell's width."""
    if draw.textlength(text, font=font) <= THUMB_WIDTH - 8:
        return text
    while text and draw.textlength(text + "…", font=font) > THUMB_WIDTH - 8:
        text = text[:-1]
    return text + "…"
