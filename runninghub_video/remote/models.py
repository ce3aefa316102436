"""The Seedance models the pack can call, as data: one ``Model`` entry per model, one ``Endpoint``
per mode it offers (reference, text, frames).

Validation and request bodies (request.py), prices (price_rules.py), the CLI's choices, the node
schemas and the emulator all read this table. Adding the next model of the family is an entry in
``MODELS`` plus its prices and tests. Sources and confidence ([C]/[S]/[U]) are in
``docs/runninghub-api.md``; [U] entries are marked here and handled defensively by the readers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .price_rules import PerSecond, PriceRule, ReferenceVideos, Run, Tokens

# How an option travels on the wire.
AS_STRING = "string"  # enum values as strings ("5", "720p")
AS_BOOL_STRING = "bool-string"  # v1-lite, 1.5 Pro: "true" / "false"
AS_BOOL = "bool"  # 2.x: real JSON booleans
AS_INT = "int"

# Reference kinds: the first three are lists of references; a frame is one image in a field of its own.
IMAGE, VIDEO, AUDIO = "image", "video", "audio"
FIRST_FRAME, LAST_FRAME = "first_frame", "last_frame"
IMAGE_KINDS = (IMAGE, FIRST_FRAME, LAST_FRAME)  # uploaded as images
# Modes: what a run starts from.
REFERENCE, TEXT, FRAMES = "reference", "text", "frames"
MODES = (REFERENCE, TEXT, FRAMES)
AUTO = "auto"  # the duration the model chooses ("-1" on the wire)

# Our own policy for images on every model: the upload endpoint's limit is unknown [U] and 10 MB
# is proven, so images are fitted under 10 MB even where a model accepts more (2.x: 30 MB).
IMAGE_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Option:
    """One user choice. ``name`` is ours (VideoRequest field, node input, CLI flag with dashes)."""
    name: str
    wire: str
    default: Any
    choices: tuple[str, ...] = ()  # allowed values (enums); empty for booleans and integers
    encoding: str = AS_STRING
    minimum: int | None = None  # integers only
    maximum: int | None = None
    omit_when_default: bool = False  # optional field of uncertain support: only sent when set [S]
    required: bool = True  # in the published schema (the client sends every field but omitted ones)
    wire_values: Mapping[str, str] = field(default_factory=dict)  # our value -> the wire's ("auto" -> "-1")
    needs: Mapping[str, str] = field(default_factory=dict)  # value -> reference kind it needs ("edit" -> video)

    def wire_value(self, value: Any) -> Any:
        if self.encoding == AS_BOOL_STRING:
            return "true" if value else "false"
        if self.encoding == AS_BOOL:
            return bool(value)
        if self.encoding == AS_INT:
            return int(value)
        return self.wire_values.get(str(value), str(value))


@dataclass(frozen=True)
class MediaRule:
    """What a model accepts of one reference kind."""
    kind: str  # IMAGE, VIDEO, AUDIO, FIRST_FRAME or LAST_FRAME
    wire: str  # the URL array field (a single URL field when ``single``)
    max_count: int
    min_count: int = 0
    max_bytes: int | None = None  # per file, as uploaded
    formats: tuple[str, ...] = ()  # file types the model reads
    min_seconds: float | None = None  # per clip (video, audio)
    max_seconds: float | None = None
    max_total_seconds: float | None = None  # all clips of this kind together
    single: bool = False  # one URL as a string (a frame), not an array


@dataclass(frozen=True)
class Endpoint:
    """One mode of a model: its path, fields and references."""
    mode: str
    path: str  # submit path after /openapi/v2/ (also the price-preview path's tail)
    options: tuple[Option, ...]
    media: tuple[MediaRule, ...] = ()
    prompt_required: bool = True
    min_visual_references: int = 0  # images + videos together
    audio_needs_visual: bool = False  # audio references only alongside an image or a video

    @property
    def submit_path(self) -> str:
        return f"/openapi/v2/{self.path}"

    @property
    def price_preview_path(self) -> str:
        return f"/openapi/v2/price-preview/{self.path}"

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def rule(self, kind: str) -> MediaRule | None:
        return next((r for r in self.media if r.kind == kind), None)


@dataclass(frozen=True)
class Model:
    id: str  # CLI --model value, node combo value, journal "model"
    label: str  # what users read
    endpoints: tuple[Endpoint, ...]  # the first is the mode used when a request names none
    prompt_max_chars: int
    price: PriceRule
    typical_run_s: float  # RUNNING wall time of 720p x 5 s; paces polling until the journal knows better
    last_frame_wire: str = ""  # boolean field that adds the last frame as an image result, if any
    result_audio_option: str = ""  # option whose value says whether the result has sound
    # Takes real-person handling: its URL fields accept ``asset://<id>`` of RunningHub's assets API,
    # the way to send references that show real people (otherwise refused with 1505). [C] for every
    # 2.x URL field; v1-lite and 1.5 Pro have no way out, so the option is refused before upload.
    real_person: bool = False

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(e.mode for e in self.endpoints)

    def endpoint(self, mode: str | None = None) -> Endpoint | None:
        """The endpoint of ``mode`` (None / "": the model's first), or None when it has no such mode."""
        return next((e for e in self.endpoints if e.mode == mode), None) if mode else self.endpoints[0]

    @property
    def options(self) -> tuple[Option, ...]:
        """Every option of any mode, once (first seen first)."""
        seen: dict[str, Option] = {}
        for endpoint in self.endpoints:
            for option in endpoint.options:
                seen.setdefault(option.name, option)
        return tuple(seen.values())

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def choices(self, name: str) -> tuple[str, ...]:
        option = self.option(name)
        return option.choices if option is not None else ()

    def default(self, name: str) -> Any:
        option = self.option(name)
        return None if option is None else option.default

    def rule(self, kind: str) -> MediaRule | None:
        return next((r for e in self.endpoints for r in e.media if r.kind == kind), None)

    def durations(self) -> tuple[int, ...]:
        """The whole seconds the model makes (without "auto")."""
        return tuple(int(d) for d in self.choices("duration") if d != AUTO)

    def price_range(self, site: str, resolution: str, duration: str | int, *, sound: bool = False, videos: int = 0,
                    mode: str = REFERENCE) -> tuple[Decimal, Decimal] | None:
        """The lowest and highest published price of one run, in the site's currency, or None where
        no table is known (.ai: USD prices [U]). Equal ends: an exact price."""
        seconds = None if str(duration) == AUTO else int(duration)
        run = Run(resolution, seconds, self.durations(), sound, videos, multimodal=mode == REFERENCE)
        return self.price.range(site, run)


def _durations(first: int, last: int) -> tuple[str, ...]:
    return tuple(str(s) for s in range(first, last + 1))


_V1_RATIOS = ("16:9", "9:16", "4:3", "3:4", "21:9", "1:1")
_V2_RATIOS = ("adaptive", "16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
_V2_RESOLUTIONS = ("480p", "720p", "1080p", "native1080p", "2k", "4k")
_V2_IMAGE_FORMATS = ("png", "jpg", "jpeg", "webp")
_AUTO_DURATION = {AUTO: "-1"}


def _frame_rules(first: str, last: str, formats: tuple[str, ...]) -> tuple[MediaRule, ...]:
    return (MediaRule(FIRST_FRAME, first, min_count=1, max_count=1, max_bytes=IMAGE_UPLOAD_BYTES, formats=formats,
                      single=True),
            MediaRule(LAST_FRAME, last, max_count=1, max_bytes=IMAGE_UPLOAD_BYTES, formats=formats, single=True))


# --- Seedance 2.x -------------------------------------------------------------------------------
def _v2_options(resolutions: tuple[str, ...], last_second: int = 15) -> tuple[Option, ...]:
    return (
        # "-1" (the model chooses) is in the catalog [U]: offered as "auto", priced as a range
        Option("duration", "duration", "5", (*_durations(4, last_second), AUTO), wire_values=_AUTO_DURATION),
        Option("resolution", "resolution", "720p", resolutions),
        Option("aspect_ratio", "ratio", "adaptive", _V2_RATIOS, required=False),
        Option("generate_audio", "generateAudio", True, encoding=AS_BOOL, required=False),
        Option("seed", "seed", -1, encoding=AS_INT, minimum=-1, maximum=2**31 - 1,
               omit_when_default=True, required=False),  # seed is in the catalog only [S]; -1 (random) is its default
    )


def _v2_references(images: int = 9, videos: int = 3, audios: int = 3, total_s: float = 15.0) -> tuple[MediaRule, ...]:
    return (
        MediaRule(IMAGE, "imageUrls", max_count=images, max_bytes=IMAGE_UPLOAD_BYTES, formats=_V2_IMAGE_FORMATS),
        MediaRule(VIDEO, "videoUrls", max_count=videos, max_bytes=50 * 1024 * 1024, formats=("mp4",),
                  min_seconds=2.0, max_seconds=15.0, max_total_seconds=total_s),
        MediaRule(AUDIO, "audioUrls", max_count=audios, formats=("wav", "mp3"),
                  min_seconds=2.0, max_seconds=15.0, max_total_seconds=total_s),
    )


def _seedance_2(id: str, label: str, path: str, resolutions: tuple[str, ...], rates: dict[str, float],
                floors: tuple[float, float], typical_run_s: float) -> Model:
    """A Seedance 2.0 tier on one channel: three modes at ``path/<mode>`` that share every field;
    tiers differ in path, resolutions and price [C]."""
    options = _v2_options(resolutions)
    return Model(
        id=id, label=label, prompt_max_chars=20480,
        endpoints=(
            Endpoint(REFERENCE, f"{path}/multimodal-video", options, _v2_references(),
                     min_visual_references=1,  # expected for reference-to-video [U]
                     audio_needs_visual=True),
            Endpoint(TEXT, f"{path}/text-to-video",
                     (*options, Option("web_search", "webSearch", False, encoding=AS_BOOL, required=False,
                                       omit_when_default=True))),  # sent only when asked for [S]
            Endpoint(FRAMES, f"{path}/image-to-video", options,
                     _frame_rules("firstFrameUrl", "lastFrameUrl", _V2_IMAGE_FORMATS), prompt_required=False),
        ),
        price=PerSecond({"cn": rates}, with_videos=ReferenceVideos(*floors)),  # lowest tier [S]; preview is the truth
        typical_run_s=typical_run_s,  # "minutes" [S]; no measured figure
        last_frame_wire="returnLastFrame",
        result_audio_option="generate_audio",
        real_person=True,
    )


_NO_NATIVE = tuple(r for r in _V2_RESOLUTIONS if r != "native1080p")  # Fast and Mini (registries disagree on Fast)
_RATES_2 = {"480p": 0.6, "720p": 1.2, "1080p": 1.48, "native1080p": 3.0, "2k": 1.62, "4k": 1.83}
_RATES_FAST = {"480p": 0.5, "720p": 1.0, "1080p": 1.28, "2k": 1.42, "4k": 1.63}
_RATES_MINI = {"480p": 0.3, "720p": 0.6, "1080p": 0.88, "2k": 1.02, "4k": 1.23}

SEEDANCE_2 = _seedance_2("seedance-2.0", "Seedance 2.0", "rhart-video/sparkvideo-2.0", _V2_RESOLUTIONS,
                         _RATES_2, (0.4, 0.8), typical_run_s=180.0)
SEEDANCE_2_FAST = _seedance_2("seedance-2.0-fast", "Seedance 2.0 Fast", "rhart-video/sparkvideo-2.0-fast",
                              _NO_NATIVE, _RATES_FAST, (0.3, 0.6), typical_run_s=120.0)
SEEDANCE_2_MINI = _seedance_2("seedance-2.0-mini", "Seedance 2.0 Mini", "rhart-video/sparkvideo-2.0-mini",  # path [S]
                              _NO_NATIVE, _RATES_MINI, (0.2, 0.4), typical_run_s=90.0)  # run time: our guess
# The global channel: the same tiers, priced like their CN twins [U].
SEEDANCE_2_GLOBAL = _seedance_2("seedance-2.0-global", "Seedance 2.0 (global)", "bytedance/seedance-2.0-global",
                                _V2_RESOLUTIONS, _RATES_2, (0.4, 0.8), typical_run_s=180.0)
SEEDANCE_2_GLOBAL_FAST = _seedance_2("seedance-2.0-global-fast", "Seedance 2.0 Fast (global)",
                                     "bytedance/seedance-2.0-global-fast", _NO_NATIVE, _RATES_FAST, (0.3, 0.6),
                                     typical_run_s=120.0)
SEEDANCE_2_GLOBAL_MINI = _seedance_2("seedance-2.0-global-mini", "Seedance 2.0 Mini (global)",
                                     "bytedance/seedance-2.0-global-mini", _NO_NATIVE, _RATES_MINI, (0.2, 0.4),
                                     typical_run_s=90.0)


def _seedance_2_5(id: str, label: str, path: str) -> Model:
    """Seedance 2.5 [S/U]: the 2.x fields, up to 30 s and 30 images, a task type (edit transforms a
    reference video), a bitrate, priced by tokens. Its text and image-to-video modes are [S]: not offered."""
    resolutions = tuple(r for r in _V2_RESOLUTIONS if r != "native1080p")  # [U]: 2.0's without native1080p
    options = (*_v2_options(resolutions, last_second=30),
               Option("task_type", "omniReferenceTaskType", "auto", ("auto", "edit"), required=False,
                      needs={"edit": VIDEO}),
               Option("bitrate", "bitrateMode", "standard", ("standard", "high"), required=False,
                      omit_when_default=True))
    return Model(
        id=id, label=label, prompt_max_chars=20480,
        endpoints=(Endpoint(REFERENCE, f"{path}/multimodal-video", options,
                            # clip lengths as 2.0's [U]; together at most the longest video it makes [U]
                            _v2_references(images=30, videos=10, audios=10, total_s=30.0),
                            min_visual_references=1, audio_needs_visual=True),),
        price=Tokens(87.5, {"1080p": 0.32, "2k": 0.42, "4k": 0.63}),
        typical_run_s=240.0,  # our guess: longer videos than 2.0's
        last_frame_wire="returnLastFrame",  # as 2.0 [U]
        result_audio_option="generate_audio",
        real_person=True,  # a 2.x endpoint [C for the assets API]
    )


SEEDANCE_2_5 = _seedance_2_5("seedance-2.5", "Seedance 2.5", "bytedance/seedance-2.5-token")
SEEDANCE_2_5_GLOBAL = _seedance_2_5("seedance-2.5-global", "Seedance 2.5 (global)", "bytedance/seedance-2.5-global-token")


# --- Seedance 1.x -------------------------------------------------------------------------------
V1_LITE = Model(
    id="seedance-v1-lite", label="Seedance v1-lite", prompt_max_chars=5000,
    endpoints=(Endpoint(REFERENCE, "seedance-v1-lite/reference-to-video", (
        Option("duration", "duration", "5", _durations(2, 12)),
        Option("resolution", "resolution", "720p", ("720p", "480p")),
        Option("aspect_ratio", "aspectRatio", "16:9", _V1_RATIOS),
        Option("camera_fixed", "cameraFixed", False, encoding=AS_BOOL_STRING),
    ), (MediaRule(IMAGE, "imageUrls", min_count=1, max_count=4, max_bytes=IMAGE_UPLOAD_BYTES,
                  formats=("png", "jpg", "jpeg")),), min_visual_references=1),),
    price=PerSecond({"cn": {"480p": 0.07, "720p": 0.15}}),  # [S]; .ai (USD) unknown [U]
    typical_run_s=60.0,  # 720p x 5 s observed [S]
)


def _seedance_1_5(id: str, label: str, suffix: str, resolutions: tuple[str, ...], typical_run_s: float) -> Model:
    """1.5 Pro [C]: text and first/last-frame modes; its booleans are strings and its ratio field is
    ``aspectRatio`` (as v1-lite's). No seed, no last frame."""
    def options(ratios: tuple[str, ...], ratio_default: str) -> tuple[Option, ...]:
        return (Option("duration", "duration", "5", _durations(4, 12)),
                Option("resolution", "resolution", "720p", resolutions),
                Option("aspect_ratio", "aspectRatio", ratio_default, ratios),
                Option("generate_audio", "generateAudio", True, encoding=AS_BOOL_STRING),  # default [U]: as 2.x
                Option("camera_fixed", "cameraFixed", False, encoding=AS_BOOL_STRING))

    return Model(
        id=id, label=label, prompt_max_chars=5000,
        endpoints=(
            Endpoint(TEXT, f"seedance-v1.5-pro/text-to-video{suffix}", options(_V1_RATIOS, "16:9")),
            Endpoint(FRAMES, f"seedance-v1.5-pro/image-to-video{suffix}",
                     options(("adaptive", *_V1_RATIOS), "adaptive"),  # default [U]: follow the start image
                     _frame_rules("firstImageUrl", "lastImageUrl", ("png", "jpg", "jpeg"))),
        ),
        # Fast is priced like Pro [U]: only one table is published
        price=PerSecond({"cn": {"480p": 0.07, "720p": 0.16, "1080p": 0.35}}, with_sound=2.0),
        typical_run_s=typical_run_s,  # our guess
        result_audio_option="generate_audio",
    )


SEEDANCE_1_5_PRO = _seedance_1_5("seedance-1.5-pro", "Seedance 1.5 Pro", "", ("480p", "720p", "1080p"), 90.0)
SEEDANCE_1_5_PRO_FAST = _seedance_1_5("seedance-1.5-pro-fast", "Seedance 1.5 Pro Fast", "-fast", ("720p", "1080p"),
                                      60.0)

MODELS: dict[str, Model] = {m.id: m for m in (
    V1_LITE, SEEDANCE_1_5_PRO, SEEDANCE_1_5_PRO_FAST,
    SEEDANCE_2, SEEDANCE_2_FAST, SEEDANCE_2_MINI, SEEDANCE_2_GLOBAL, SEEDANCE_2_GLOBAL_FAST, SEEDANCE_2_GLOBAL_MINI,
    SEEDANCE_2_5, SEEDANCE_2_5_GLOBAL)}
DEFAULT_MODEL = V1_LITE.id


def get(model: str | Model | None) -> Model:
    """The table entry for an id (or the entry itself); the default model for None / ""."""
    from ..core.errors import ValidationError

    if isinstance(model, Model):
        return model
    key = (model or DEFAULT_MODEL).strip()
    if key not in MODELS:
        raise ValidationError(f"Model {key!r} is not known: use one of {', '.join(MODELS)}.")
    return MODELS[key]


def with_mode(mode: str) -> tuple[Model, ...]:
    """The models that offer ``mode``, in table order."""
    return tuple(m for m in MODELS.values() if mode in m.modes)


def all_choices(name: str, among: Iterable[Model] | None = None) -> tuple[str, ...]:
    """Every value of an option across the models (all, or ``among``), in first-seen order: the
    choices of a node combo or CLI flag that serves several models."""
    seen: dict[str, None] = {}
    for model in MODELS.values() if among is None else among:
        for endpoint in model.endpoints:
            option = endpoint.option(name)
            for value in option.choices if option is not None else ():
                seen.setdefault(value, None)
    return tuple(seen)
