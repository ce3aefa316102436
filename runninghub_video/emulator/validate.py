"""What the emulator accepts: uploads by file type, and model bodies checked against the model table.

The checks follow the published schema of each model (docs/runninghub-api.md): required fields,
wire types (v1-lite's and 1.5 Pro's string booleans, 2.x's JSON booleans), enums, reference counts, and for
video and audio references their durations, measured from the uploaded bytes.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from ..remote import models
from ..remote.models import AS_BOOL, AS_BOOL_STRING, AS_INT, AUDIO, IMAGE, IMAGE_KINDS, VIDEO, Endpoint, Model

PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "mp4": "video/mp4",
                 "wav": "audio/wav", "mp3": "audio/mpeg"}
ASSET_SCHEME = "asset://"
KINDS = {"png": IMAGE, "jpg": IMAGE, "webp": IMAGE, "mp4": VIDEO, "wav": AUDIO, "mp3": AUDIO}


def sniff(data: bytes) -> str:
    """The file type of an upload by its magic bytes ("" when not one RunningHub accepts)."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return ""


def seconds_of(data: bytes, kind: str) -> float | None:
    """Duration of an uploaded clip, or None when it cannot be read."""
    from ..core.errors import ValidationError
    from ..media.clips import probe_bytes

    try:
        return probe_bytes(data, "upload", "video" if kind == VIDEO else "audio")[2]
    except ValidationError:
        return None


Refs = dict[str, list[bytes]]


def check_body(body: Any, model: Model, endpoint: Endpoint, upload_for: Callable[[str], bytes | None],
               known_path: Callable[[str], bool], local_base: str = "", *,
               expired_seen_by_task: bool = False,
               asset_for: Callable[[str], tuple[str, bytes] | None] = lambda asset_id: None) -> tuple[str, str, Refs]:
    """(errorCode, message, reference bytes by kind); errorCode "" when the body is acceptable for
    this ``endpoint`` (one mode of ``model``).

    References may be the emulator's own upload URLs (under ``local_base``) or any https URL, as
    the API accepts [S]; the emulator cannot fetch the latter and hands back empty bytes for them.
    A lapsed upload URL is refused 1013 here, or (``expired_seen_by_task``) accepted with empty
    bytes, the task then failing 1013 as when RunningHub reads references after the submit.
    ``asset://<id>`` takes an ACTIVE asset of the right type (``asset_for``: id -> (assetType, bytes))."""
    if not isinstance(body, dict):
        return "1007", invalid("the body must be a JSON object", "请求体"), {}
    prompt = body.get("prompt")
    if "prompt" in body or endpoint.prompt_required:
        if not isinstance(prompt, str) or len(prompt) > model.prompt_max_chars or \
                (endpoint.prompt_required and not prompt.strip()):
            return "1007", invalid(f"prompt must be 1-{model.prompt_max_chars} characters", "prompt"), {}
    for option in endpoint.options:
        problem = _option_problem(option, body)
        if problem:
            return "1007", invalid(problem, option.wire), {}
    if model.last_frame_wire in body and not isinstance(body[model.last_frame_wire], bool):
        return "1007", invalid(f"{model.last_frame_wire} must be a boolean", model.last_frame_wire), {}
    refs: Refs = {}
    for rule in endpoint.media:
        if rule.single:
            url = body.get(rule.wire)
            if url is None and not rule.min_count:
                refs[rule.kind] = []
                continue
            if not isinstance(url, str):
                return "1007", invalid(f"{rule.wire} must be one URL", rule.wire), {}
            urls = [url]
        else:
            urls = body.get(rule.wire, [] if not rule.min_count else None)
            if (not isinstance(urls, list) or not rule.min_count <= len(urls) <= rule.max_count
                    or not all(isinstance(u, str) for u in urls)):
                return "1007", invalid(f"{rule.wire} must hold {rule.min_count}-{rule.max_count} URLs", rule.wire), {}
        refs[rule.kind] = []
        for url in urls:
            if url.startswith(ASSET_SCHEME):
                found = asset_for(url[len(ASSET_SCHEME):])
                if found is None or found[0].lower() != (IMAGE if rule.kind in IMAGE_KINDS else rule.kind):
                    return "1007", invalid(f"{rule.wire} item {url!r} is not an ACTIVE {rule.kind} asset", rule.wire), {}
                refs[rule.kind].append(found[1])
                continue
            parts = urlsplit(url)
            if not (local_base and url.startswith(local_base + "/")):
                if parts.scheme != "https" or not parts.hostname:
                    return "1007", invalid(f"{rule.wire} item {url!r} is not an https URL", rule.wire), {}
                refs[rule.kind].append(b"")
                continue
            data = upload_for(parts.path)
            if data is None:
                if not known_path(parts.path):
                    return "1007", invalid(f"{rule.wire} item {url!r} is not an uploaded file", rule.wire), {}
                if not expired_seen_by_task:
                    return "1013", f"File processing failed: {url} has expired | 文件处理失败：链接已过期", {}
                refs[rule.kind].append(b"")
                continue
            if KINDS.get(sniff(data)) != (IMAGE if rule.kind in IMAGE_KINDS else rule.kind):
                return "1007", invalid(f"{rule.wire} item {url!r} is not a {rule.kind} file", rule.wire), {}
            refs[rule.kind].append(data)
        problem = _duration_problem(rule, refs[rule.kind])
        if problem:
            return "1007", invalid(problem, rule.wire), {}
    visual = len(refs.get(IMAGE, [])) + len(refs.get(VIDEO, []))
    if visual < endpoint.min_visual_references:
        return "1007", invalid("at least one image or video reference is required", "imageUrls"), {}
    if endpoint.audio_needs_visual and refs.get(AUDIO) and not visual:
        return "1007", invalid("audioUrls need an image or video reference", "audioUrls"), {}
    for option in endpoint.options:
        kind = option.needs.get(str(body.get(option.wire)))
        if kind and not refs.get(kind):
            return "1007", invalid(f"{option.wire} {body[option.wire]} needs a {kind} reference", option.wire), {}
    return "", "", refs


def invalid(message_en: str, field: str) -> str:
    return f"Invalid parameters: {message_en} | 参数无效：{field}"


def _option_problem(option: models.Option, body: dict) -> str:
    if option.wire not in body:
        return f"{option.wire} is required" if option.required else ""
    value = body[option.wire]
    if option.encoding == AS_BOOL_STRING:
        return "" if value in ("true", "false") else f"{option.wire} must be \"true\" or \"false\" (as a string)"
    if option.encoding == AS_BOOL:
        return "" if isinstance(value, bool) else f"{option.wire} must be a boolean"
    if option.encoding == AS_INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and option.minimum <= value <= option.maximum
        return "" if ok else f"{option.wire} must be an integer from {option.minimum} to {option.maximum}"
    allowed = [option.wire_value(choice) for choice in option.choices]
    return "" if value in allowed else f"{option.wire} must be one of {', '.join(allowed)} (as a string)"


def _duration_problem(rule: models.MediaRule, clips: list[bytes]) -> str:
    clips = [c for c in clips if c]  # references the emulator could not fetch: unknown length
    if rule.min_seconds is None or not clips:
        return ""
    lengths = [seconds_of(data, rule.kind) for data in clips]
    if any(s is None for s in lengths):
        return f"a {rule.kind} reference could not be read"
    if any(not rule.min_seconds - 0.05 <= s <= rule.max_seconds + 0.05 for s in lengths):
        return f"each {rule.kind} must last {rule.min_seconds:g}-{rule.max_seconds:g} s"
    if rule.max_total_seconds is not None and sum(lengths) > rule.max_total_seconds + 0.05:
        return f"{rule.kind} references may last {rule.max_total_seconds:g} s in total"
    return ""
