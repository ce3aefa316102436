"""A batch's contact sheet: the first frame of each video in a grid, each labelled (CLI and node alike)."""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Callable, Sequence

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


def labelled_sheet(videos: Sequence[str | Path | None], labels: Sequence[str],
                   failures: Sequence[str] = (), columns: int | None = None) -> Any:
    """A PIL image: one cell per video (its first frame, then its label underneath), about square.
    A video of None is an item that gave none: its cell is a dark red card saying ``failures[i]``."""
    frames = [None if v is None else first_frame(v) for v in videos]
    return labelled_grid(frames, labels, columns, failures)


def labelled_grid(frames: Sequence[Any], labels: Sequence[str], columns: int | None = None,
                  failures: Sequence[str] = ()) -> Any:
    """``frames`` (``[H,W,3]`` uint8 arrays, any sizes; None for a failed cell) as a grid of
    equal-width cells with a label each."""
    from PIL import Image, ImageDraw

    if not frames:
        raise ValidationError("A contact sheet needs at least one video.")
    cols = columns or math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / cols)
    thumbs = [None if f is None else Image.fromarray(f[..., :3]) for f in frames]
    thumb_h = max((round(t.height * THUMB_WIDTH / t.width) for t in thumbs if t is not None),
                  default=THUMB_WIDTH * 9 // 16)
    cell_h = thumb_h + LABEL_HEIGHT
    sheet = Image.new("RGB", (cols * (THUMB_WIDTH + GAP) + GAP, rows * (cell_h + GAP) + GAP), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font, covers = _font()
    for i, (thumb, label) in enumerate(zip(thumbs, labels)):
        x, y = GAP + (i % cols) * (THUMB_WIDTH + GAP), GAP + (i // cols) * (cell_h + GAP)
        if thumb is None:
            draw.rectangle((x, y, x + THUMB_WIDTH - 1, y + thumb_h - 1), fill=FAILED_CARD)
            why = failures[i] if i < len(failures) else ""
            for n, line in enumerate(_wrap(draw, covers(why or "failed"), font, thumb_h // LINE_HEIGHT)):
                draw.text((x + 6, y + 6 + n * LINE_HEIGHT), line, fill=INK, font=font)
        else:
            sized = thumb.resize((THUMB_WIDTH, round(thumb.height * THUMB_WIDTH / thumb.width)),
                                 Image.Resampling.BILINEAR)
            sheet.paste(sized, (x, y))
        draw.text((x + 4, y + thumb_h + 4), _fit(draw, covers(str(label)), font), fill=INK, font=font)
    return sheet


FAILED_CARD = (96, 24, 24)
LINE_HEIGHT = 18
# Fonts that draw Chinese (and Latin), by file name: Pillow looks a bare name up in the system's
# font folders (Windows Fonts, macOS Library/Fonts, Linux XDG data dirs' fonts/).
CJK_FONTS = (
    "msyh.ttc", "msyh.ttf", "simhei.ttf", "simsun.ttc",  # Windows: Microsoft YaHei, SimHei, SimSun
    "PingFang.ttc", "Hiragino Sans GB.ttc", "STHeiti Medium.ttc", "Arial Unicode.ttf",  # macOS
    "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf",  # Linux
    "wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf",
)


@functools.lru_cache(maxsize=1)
def _font() -> tuple[Any, Callable[[str], str]]:
    """The labels' font and what it can draw of a text: a font covering Chinese when the system has
    one (the text as it is); else Pillow's own, which draws Latin only, so a text is cut before its
    first character beyond Latin (the label's line number and variation stay readable)."""
    from PIL import ImageFont

    for name in CJK_FONTS:
        try:
            return ImageFont.truetype(name, 14), lambda text: text
        except OSError:
            continue
    try:
        font = ImageFont.load_default(size=14)  # Pillow ≥ 10.1: a scalable font
    except TypeError:
        font = ImageFont.load_default()
    return font, _latin_part


def _latin_part(text: str) -> str:
    """``text`` up to its first character beyond Latin and common punctuation ("…" marks the cut)."""
    for i, char in enumerate(text):
        if ord(char) > 0x24FF:
            return text[:i].rstrip() + " …"
    return text


def _fit(draw: Any, text: str, font: Any) -> str:
    """The label cut with an ellipsis to the cell's width."""
    if draw.textlength(text, font=font) <= THUMB_WIDTH - 8:
        return text
    while text and draw.textlength(text + "…", font=font) > THUMB_WIDTH - 8:
        text = text[:-1]
    return text + "…"


def _wrap(draw: Any, text: str, font: Any, max_lines: int) -> list[str]:
    """``text`` broken into lines that fit a cell (character by character, as CJK text has no
    spaces), at most ``max_lines``, the last cut with an ellipsis."""
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max(1, max_lines):
        n = len(rest)
        while n > 1 and draw.textlength(rest[:n], font=font) > THUMB_WIDTH - 12:
            n -= 1
        space = rest.rfind(" ", 0, n)
        if n < len(rest) and space > n // 2:
            n = space + 1
        lines.append(rest[:n].rstrip())
        rest = rest[n:].lstrip()
    if rest:
        lines[-1] = _fit(draw, lines[-1] + " " + rest, font)
    return lines
