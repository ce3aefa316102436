"""Reference videos and audio clips -> upload-ready files (MP4, WAV), checked against a model's limits.

Pure: no ComfyUI and no torch import (tensors are read by duck typing); PyAV and numpy load on use.
A reference VIDEO arrives as a file: the node writes ComfyUI's VIDEO as MP4 with its trim and crop
applied (nodes/comfy_bridge.py), the CLI passes a path; other containers are re-encoded to H.264
MP4 here. AUDIO arrives as ComfyUI's ``{"waveform": [B, C, T] float -1..1, "sample_rate": int}``
(each batch item is one reference, written as 16-bit WAV) or as a WAV / MP3 file.

Everything is measured before anything is uploaded, so a clip that breaks a limit is refused with
a message naming the limit while nothing has been sent.
"""
from __future__ import annotations

import hashlib
import io
import json
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..core.digests import file_sha256
from ..core.errors import ValidationError
from ..remote.models import AUDIO, VIDEO, MediaRule, Model
from .images import to_numpy

_CONTENT_TYPES = {"mp4": "video/mp4", "wav": "audio/wav", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class Encoded:
    data: bytes = field(repr=False)
    filename: str
    content_type: str


@dataclass(frozen=True)
class MediaReference:
    """One video or audio reference, measured and ready to upload (``encode`` matches images')."""
    kind: str  # VIDEO or AUDIO
    name: str  # "video 1", for messages
    seconds: float
    data: bytes = field(repr=False)
    extension: str = "mp4"
    sha256: str = ""  # of the bytes uploaded: the upload cache's key (and the journal's before identity)
    source: str = ""  # what the bytes were made from and how (made_from); "" when they are their own source

    def encode(self) -> Encoded:
        return Encoded(self.data, f"ref_{self.sha256[:12]}.{self.extension}", _CONTENT_TYPES[self.extension])

    @property
    def identity(self) -> str:
        """What the request's identity (the journal's fingerprint) counts this reference as: its
        source and how it was made, never an encoder's output bytes, which change with the PyAV or
        FFmpeg build (the same graph would pay again after an upgrade)."""
        return self.source or self.sha256


@dataclass(frozen=True)
class VideoFile:
    """A video file written from something else (ComfyUI's VIDEO with its trim and crop), with the
    identity of what it was written from (:func:`made_from`; "" when that cannot be told)."""
    path: Path
    source: str = ""


# how transcode_to_mp4 encodes: part of the identity of what it makes (change both together)
_TRANSCODE = {"video": "libx264", "pix_fmt": "yuv420p", "options": {"preset": "fast", "crf": "18"},
              "audio": "aac stereo"}
_AS_WAV = "16-bit PCM WAV of the decoded sound"


def made_from(source: str, how: str, **params: Any) -> str:
    """The identity of a reference made from ``source`` (a content hash, or another identity) by
    ``how`` with ``params``: the same source made the same way is the same reference, whatever bytes
    the encoder of the day writes."""
    canonical = json.dumps({"v": 1, "source": source, "how": how, "params": params}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- public API ----------------------------------------------------------------------------
def prepare_media(model: Model, videos: Sequence[Any] = (), audios: Sequence[Any] = ()) -> list[MediaReference]:
    """Video references (file paths) then audio references (AUDIO dicts or file paths), each
    measured and checked, then the totals per kind. Raises ValidationError naming the limit."""
    out: list[MediaReference] = []
    for kind, items, build in ((VIDEO, videos, video_reference), (AUDIO, audios, _audio_references)):
        rule = model.rule(kind)
        refs: list[MediaReference] = []
        for i, item in enumerate(items, 1):
            if item is not None:
                made = build(item, f"{kind} {i}")
                refs.extend(made if isinstance(made, list) else [made])
        if refs and rule is not None:
            for ref in refs:
                check_reference(ref, rule, model)
            check_total(refs, rule, model)
        out.extend(refs)
    return out


def video_reference(item: str | Path | VideoFile, name: str = "video 1") -> MediaReference:
    """An MP4 reference from a video file (other containers/codecs are re-encoded to H.264 MP4);
    a :class:`VideoFile` brings the identity of what it was written from."""
    source = item.source if isinstance(item, VideoFile) else ""
    path = _existing(item.path if isinstance(item, VideoFile) else item, name)
    container_name, codec, seconds = _probe(path, name, "video")
    data = path.read_bytes()
    if not ("mp4" in container_name.split(",") and codec in ("h264", "hevc")):
        source = made_from(source or hashlib.sha256(data).hexdigest(), "transcode_to_mp4", **_TRANSCODE)
        data = transcode_to_mp4(path)
        seconds = probe_bytes(data, name, "video")[2]
    return MediaReference(VIDEO, name, seconds, data, "mp4", hashlib.sha256(data).hexdigest(), source)


def audio_from_waveform(audio: Any, name: str = "audio 1") -> list[MediaReference]:
    """One WAV reference per batch item of a ComfyUI AUDIO."""
    import numpy as np

    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise ValidationError(f"{name} is not an AUDIO (a waveform and a sample rate); connect an audio output.")
    waveform = to_numpy(audio["waveform"]).astype(np.float32, copy=False)
    rate = int(audio["sample_rate"])
    if waveform.ndim == 2:
        waveform = waveform[None]
    if waveform.ndim != 3 or waveform.shape[1] < 1 or rate <= 0:
        raise ValidationError(f"{name} has waveform shape {list(waveform.shape)} at {rate} Hz: expected "
                              "[batch, channels, samples] and a positive sample rate.")
    refs = []
    for b in range(waveform.shape[0]):
        label = name if waveform.shape[0] == 1 else f"{name} (batch item {b + 1})"
        data = wav_bytes(waveform[b], rate)
        refs.append(MediaReference(AUDIO, label, waveform.shape[2] / rate, data, "wav",
                                   hashlib.sha256(data).hexdigest()))
    return refs


def audio_from_file(path: str | Path, name: str = "audio 1") -> MediaReference:
    """A WAV or MP3 file as it is; any other audio (or a video's sound) becomes WAV."""
    path = _existing(path, name)
    container_name, codec, seconds = _probe(path, name, "audio")
    extension = path.suffix.lower().lstrip(".")
    source = ""
    if extension in ("wav", "mp3") and (extension in container_name.split(",")):
        data = path.read_bytes()
    else:  # FFmpeg's decoders of the day shape the samples: the file itself is the identity
        source = made_from(file_sha256(path), _AS_WAV)
        samples, rate = decode_audio(path)
        data, extension, seconds = wav_bytes(samples, rate), "wav", samples.shape[1] / rate
    return MediaReference(AUDIO, name, seconds, data, extension, hashlib.sha256(data).hexdigest(), source)


def check_reference(ref: MediaReference, rule: MediaRule, model: Model) -> None:
    word = "videos" if ref.kind == VIDEO else "audio clips"
    if rule.max_bytes is not None and len(ref.data) > rule.max_bytes:
        raise ValidationError(f"{ref.name} is {len(ref.data) / 1e6:.1f} MB: {model.label} takes reference {word} of "
                              f"at most {rule.max_bytes // (1024 * 1024)} MB. Shorten it or lower its resolution.",
                              code="clip_large", details={"name": ref.name, "megabytes": f"{len(ref.data) / 1e6:.1f}",
                                                          "model": model.label, "kind": ref.kind,
                                                          "maximum": rule.max_bytes // (1024 * 1024)})
    low, high = rule.min_seconds, rule.max_seconds
    short, long = low is not None and ref.seconds < low - 0.05, high is not None and ref.seconds > high + 0.05
    if short or long:
        raise ValidationError(f"{ref.name} lasts {ref.seconds:.1f} s: {model.label} takes reference {word} of "
                              f"{low:g}–{high:g} s each. " + ("Trim it." if long else "Use a longer clip."),
                              code="clip_long" if long else "clip_short",
                              details={"name": ref.name, "seconds": f"{ref.seconds:.1f}", "model": model.label,
                                       "kind": ref.kind, "minimum": f"{low:g}", "maximum": f"{high:g}"})


def check_total(refs: Sequence[MediaReference], rule: MediaRule, model: Model) -> None:
    total = sum(r.seconds for r in refs)
    if rule.max_total_seconds is not None and total > rule.max_total_seconds + 0.05:
        word = "videos" if rule.kind == VIDEO else "audio clips"
        raise ValidationError(f"The reference {word} last {total:.1f} s together: {model.label} takes at most "
                              f"{rule.max_total_seconds:g} s of {word} in total. Trim or drop one.", code="clips_total",
                              details={"seconds": f"{total:.1f}", "model": model.label, "kind": rule.kind,
                                       "maximum": f"{rule.max_total_seconds:g}"})


def wav_bytes(samples: Any, rate: int) -> bytes:
    """16-bit PCM WAV of float samples [channels, samples] in -1..1 (NaN -> 0, clipped)."""
    import numpy as np

    x = np.nan_to_num(np.asarray(samples, np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(pcm.shape[0])
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(np.ascontiguousarray(pcm.T).tobytes())
    return buffer.getvalue()


def decode_audio(source: str | Path | io.BytesIO) -> tuple[Any, int]:
    """All the sound of a file as float32 [channels, samples] and its rate; raises if it has none."""
    import av
    import numpy as np

    with av.open(source if not isinstance(source, Path) else str(source)) as container:
        if not container.streams.audio:
            raise ValidationError(f"{_label(source)} has no audio track.", code="no_track",
                                  details={"name": _label(source), "track": "audio"})
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        chunks = [f.to_ndarray() for frame in container.decode(stream) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
        rate = int(stream.sample_rate or stream.codec_context.sample_rate)
    if not chunks:
        raise ValidationError(f"{_label(source)} has an empty audio track.", code="empty_track",
                              details={"name": _label(source)})
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), rate


def audio_track(path: str | Path, max_seconds: float | None = None) -> tuple[Any, int] | None:
    """A video's sound as float32 [channels, samples] and its rate (cut to ``max_seconds``), or None."""
    import av

    try:
        samples, rate = decode_audio(Path(path))
    except (ValidationError, av.error.FFmpegError):
        return None
    if max_seconds is not None:
        samples = samples[:, :int(round(max_seconds * rate))]
    return samples, rate


def transcode_to_mp4(path: str | Path) -> bytes:
    """H.264 (yuv420p) + AAC MP4 bytes of any video file PyAV can read."""
    import av

    buffer = io.BytesIO()
    with av.open(str(path)) as source, av.open(buffer, mode="w", format="mp4") as target:
        v_in = source.streams.video[0]
        a_in = source.streams.audio[0] if source.streams.audio else None
        v_out = target.add_stream(_TRANSCODE["video"], rate=v_in.average_rate or 24, options=_TRANSCODE["options"])
        v_out.width, v_out.height = v_in.codec_context.width // 2 * 2, v_in.codec_context.height // 2 * 2
        v_out.pix_fmt = _TRANSCODE["pix_fmt"]
        a_out = resampler = None
        if a_in is not None:
            a_out = target.add_stream("aac", rate=a_in.codec_context.sample_rate or 48000)
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=a_out.rate)
        for packet in source.demux(*(s for s in (v_in, a_in) if s is not None)):
            for frame in packet.decode():
                if packet.stream is v_in:
                    image = frame.reformat(width=v_out.width, height=v_out.height, format="yuv420p")
                    image.pts = None
                    target.mux(v_out.encode(image))
                else:
                    for chunk in resampler.resample(frame):
                        chunk.pts = None
                        target.mux(a_out.encode(chunk))
        target.mux(v_out.encode(None))
        if a_out is not None:
            target.mux(a_out.encode(None))
    return buffer.getvalue()


# --- helpers -------------------------------------------------------------------------------
def _audio_references(item: Any, name: str) -> list[MediaReference]:
    if isinstance(item, (str, Path)):
        return [audio_from_file(item, name)]
    return audio_from_waveform(item, name)


def _existing(path: str | Path, name: str) -> Path:
    path = Path(str(path).strip().strip('"')).expanduser()
    if not path.is_file():
        raise ValidationError(f"{name}: file not found: {path}. Check the path.")
    return path


def _probe(path: Path, name: str, kind: str) -> tuple[str, str, float]:
    with open(path, "rb") as f:
        return probe_bytes(f, name, kind, path)


def probe_bytes(data: bytes | Any, name: str, kind: str, path: Path | None = None) -> tuple[str, str, float]:
    """(container format, codec of the first ``kind`` stream, seconds), or a ValidationError."""
    import av

    where = f"{name} ({path.name})" if path is not None else name
    try:
        with av.open(io.BytesIO(data) if isinstance(data, bytes) else data) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise ValidationError(f"{where} has no {kind} track; connect a {kind} file.", code="no_track",
                                      details={"name": where, "track": kind})
            stream = streams[0]
            if kind == "video" and _is_still_image(container.format.name):
                raise ValidationError(f"{where} is a still image ({stream.codec_context.name}), not a video: "
                                      "give it as an image reference instead.", code="still_image",
                                      details={"name": where})
            seconds = _seconds(container, stream)
            return container.format.name, stream.codec_context.name, seconds
    except av.error.FFmpegError as exc:
        raise ValidationError(f"{where} could not be read as {kind} ({exc}).", code="unreadable",
                              details={"name": where, "track": kind, "reason": str(exc)}) from None


def _is_still_image(format_name: str) -> bool:
    """FFmpeg's image readers (png_pipe, jpeg_pipe, webp_pipe, image2, …) open a picture as a
    one-frame "video" that lasts 0 s."""
    return any(name == "image2" or name.endswith("_pipe") for name in format_name.split(","))


def _seconds(container: Any, stream: Any) -> float:
    import av

    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    last = 0.0  # no header duration (some WAV/MP3 writers): the decoded end is the truth
    for frame in container.decode(stream):
        if frame.time is not None:
            last = frame.time + (frame.samples / frame.sample_rate if hasattr(frame, "samples") else 0.0)
    return last


def _label(source: Any) -> str:
    return Path(source).name if isinstance(source, (str, Path)) else "the clip"
