"""A small JPEG of a reference (an image's pixels, a video's first frame): what the RunningHub tab
shows of a reference converted for real-person handling."""
from __future__ import annotations

import io
from typing import Any

from .clips import MediaReference

THUMB_SIDE = 160


def reference_thumbnail(reference: Any, side: int = THUMB_SIDE) -> bytes | None:
    """The JPEG of an image reference or a video reference's first frame; None when it cannot be made
    (a thumbnail is a courtesy: it never stops a run)."""
    from PIL import Image

    try:
        if isinstance(reference, MediaReference):
            import av

            with av.open(io.BytesIO(reference.data)) as container:
                frame = next(container.decode(video=0), None)
                if frame is None:
                    return None
                image = frame.to_image()
        else:
            image = Image.fromarray(reference.pixels)
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - any decoding problem only costs the picture
        return None
