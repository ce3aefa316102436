"""All references of one request: counted before anything is decoded (the request's validation
checks the counts), then each made upload-ready and checked against its own limits.

Images and frames (images.py), videos and audio clips (clips.py) become one ordered list of typed
items, each with ``kind``, ``sha256`` and ``encode()``; the pipeline uploads them alike and the
request puts each kind's URLs into the model's field for it.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..remote import facts
from ..remote.models import AUDIO, FIRST_FRAME, IMAGE, LAST_FRAME, MODELS, VIDEO, Model


def count_all(images: Sequence[Any] = (), videos: Sequence[Any] = (), audios: Sequence[Any] = (),
              start_image: Any = None, end_image: Any = None) -> dict[str, int]:
    """How many references of each kind these inputs are, from shapes only (a batch counts one
    per item); unconnected (None) inputs count nothing."""
    from .images import batch_size

    return {IMAGE: sum(batch_size(v, f"image {i}") for i, v in enumerate(images, 1) if v is not None),
            VIDEO: sum(1 for v in videos if v is not None),
            AUDIO: _audio_count([a for a in audios if a is not None]),
            FIRST_FRAME: 0 if start_image is None else batch_size(start_image, "start image"),
            LAST_FRAME: 0 if end_image is None else batch_size(end_image, "end image")}


def prepare_all(model: Model, images: Sequence[Any] = (), videos: Sequence[Any] = (), audios: Sequence[Any] = (),
                start_image: Any = None, end_image: Any = None) -> list:
    """Start and end images, then images, videos and audio clips, in input order, each checked
    against its limits (sizes, clip lengths, totals): a bad reference of any kind is refused with a
    message naming the limit before any upload. Counts were checked by the request."""
    from .clips import prepare_media
    from .images import prepare_references

    frames = [*prepare_references([start_image], kind=FIRST_FRAME, name="start image"),
              *prepare_references([end_image], kind=LAST_FRAME, name="end image")]
    return frames + prepare_references(images) + prepare_media(model, videos, audios)


def upload_limit(kind: str, model: Model | None = None) -> int:
    """Bytes one uploaded reference of this kind may have (images: the proven 10 MB)."""
    limits = [r.max_bytes for m in ([model] if model else MODELS.values()) for e in m.endpoints for r in e.media
              if r.kind == kind and r.max_bytes]
    return max(limits, default=facts.MAX_UPLOAD_BYTES)


def _audio_count(audios: Sequence[Any]) -> int:
    """Audio references before decoding: a waveform batch counts one per item."""
    count = 0
    for audio in audios:
        waveform = audio.get("waveform") if isinstance(audio, dict) else None
        shape = getattr(waveform, "shape", None)
        count += int(shape[0]) if shape is not None and len(shape) == 3 else 1
    return count
