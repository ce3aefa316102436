"""All references of one request, checked against the model before anything is uploaded.

Images (images.py), videos and audio clips (media.py) become one ordered list of typed items,
each with ``kind``, ``sha256`` and ``encode()``; the pipeline uploads them alike and the request
puts each kind's URLs into the model's field for it.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..remote import facts
from ..remote.models import AUDIO, IMAGE, MODELS, VIDEO, Model
from ..remote.request import check_counts


def prepare_all(model: Model, images: Sequence[Any] = (), videos: Sequence[Any] = (),
                audios: Sequence[Any] = ()) -> list:
    """Images, then videos, then audio clips, in input order. Counts are checked first (cheap),
    then every item against its limits, then the totals: a bad reference of any kind is refused
    with a message naming the limit before any upload."""
    from .images import prepare_references
    from .clips import prepare_media

    videos = [v for v in videos if v is not None]
    audios = [a for a in audios if a is not None]
    image_refs = prepare_references(images, model)
    check_counts(model, {IMAGE: len(image_refs), VIDEO: len(videos), AUDIO: _audio_count(audios)})
    references = image_refs + prepare_media(model, videos, audios)
    check_counts(model, {kind: sum(1 for r in references if r.kind == kind) for kind in (IMAGE, VIDEO, AUDIO)})
    return references


def upload_limit(kind: str, model: Model | None = None) -> int:
    """Bytes one uploaded reference of this kind may have (images: the proven 10 MB)."""
    limits = [r.max_bytes for m in ([model] if model else MODELS.values()) for r in m.media
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
