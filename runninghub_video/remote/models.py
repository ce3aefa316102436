"""The reference-to-video models the pack can call, as data: one ``Model`` entry per model.

Validation and request bodies (request.py), reference limits (references.py), prices, the CLI's
choices, the node schemas and the emulator all read this table. Adding the next model of the
family is an entry in ``MODELS`` plus its tests. Sources and confidence ([C]/[S]/[U]) are in
``docs/runninghub-api.md``; [U] entries are marked here and handled defensively by the readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

# How an option travels on the wire.
AS_STRING = "string"  # enum values as strings ("5", "720p")
AS_BOOL_STRING = "bool-string"  # v1-lite: "true" / "false"
AS_BOOL = "bool"  # 2.0: real JSON booleans
AS_INT = "int"

IMAGE, VIDEO, AUDIO = "image", "video", "audio"

# Our own policy for images on every model: the upload endpoint's limit is unknown [U] and 10 MB
# is proven, so images are fitted under 10 MB even where a model accepts more (2.0: 30 MB).
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

    def wire_value(self, value: Any) -> Any:
        if self.encoding == AS_BOOL_STRING:
            return "true" if value else "false"
        if self.encoding == AS_BOOL:
            return bool(value)
        if self.encoding == AS_INT:
            return int(value)
        return str(value)


@dataclass(frozen=True)
class MediaRule:
    """What a model accepts of one reference kind."""
    kind: str  # IMAGE, VIDEO or AUDIO
    wire: str  # the URL array field
    max_count: int
    min_count: int = 0
    max_bytes: int | None = None  # per file, as uploaded
    formats: tuple[str, ...] = ()  # file types the model reads
    min_seconds: float | None = None  # per clip (video, audio)
    max_seconds: float | None = None
    max_total_seconds: float | None = None  # all clips of this kind together


@dataclass(frozen=True)
class Model:
    id: str  # CLI --model value, journal "model"
    label: str  # what users read
    path: str  # submit path after /openapi/v2/ (also the price-preview path's tail)
    prompt_max_chars: int
    options: tuple[Option, ...]
    media: tuple[MediaRule, ...]
    price_per_second: dict[str, dict[str, float]]  # site -> resolution -> price in the site's currency
    typical_run_s: float  # RUNNING wall time of 720p x 5 s; paces polling until the journal knows better
    min_visual_references: int = 1  # images + videos together
    audio_needs_visual: bool = False  # audio references only alongside an image or a video
    last_frame_wire: str = ""  # boolean field that adds the last frame as an image result, if any
    result_audio_option: str = ""  # option whose value says whether the result has sound
    # Takes real-person handling: its URL fields accept ``asset://<id>`` of RunningHub's assets API,
    # the way to send references that show real people (otherwise refused with 1505). [C] for every
    # 2.x URL field; v1-lite and 1.5 Pro have no way out, so the option is refused before upload.
    real_person: bool = False

    @property
    def submit_path(self) -> str:
        return f"/openapi/v2/{self.path}"

    @property
    def price_preview_path(self) -> str:
        return f"/openapi/v2/price-preview/{self.path}"

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def choices(self, name: str) -> tuple[str, ...]:
        option = self.option(name)
        return option.choices if option is not None else ()

    def default(self, name: str) -> Any:
        option = self.option(name)
        return None if option is None else option.default

    def rule(self, kind: str) -> MediaRule | None:
        return next((r for r in self.media if r.kind == kind), None)

    def table_price(self, site: str, resolution: str, duration: str | int) -> Decimal | None:
        """The published price of one run, exact, in the site's currency (``facts.table_price``
        says which), or None where no table is known (.ai: USD prices [U])."""
        per_second = self.price_per_second.get(site, {}).get(resolution)
        return None if per_second is None else Decimal(str(per_second)) * int(duration)


def _durations(first: int, last: int) -> tuple[str, ...]:
    return tuple(str(s) for s in range(first, last + 1))


_V1_RATIOS = ("16:9", "9:16", "4:3", "3:4", "21:9", "1:1")
_V2_RATIOS = ("adaptive", "16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
_V2_RESOLUTIONS = ("480p", "720p", "1080p", "native1080p", "2k", "4k")


def _seedance_2(id: str, label: str, path: str, resolutions: tuple[str, ...], prices: dict[str, float],
                typical_run_s: float) -> Model:
    """Seedance 2.0 and 2.0 Fast share every field; they differ in path, resolutions and price."""
    return Model(
        id=id, label=label, path=path, prompt_max_chars=20480,
        options=(
            Option("duration", "duration", "5", _durations(4, 15)),  # "-1" (model chooses) is [U]: not offered
            Option("resolution", "resolution", "720p", resolutions),
            Option("aspect_ratio", "ratio", "adaptive", _V2_RATIOS, required=False),
            Option("generate_audio", "generateAudio", True, encoding=AS_BOOL, required=False),
            Option("seed", "seed", -1, encoding=AS_INT, minimum=-1, maximum=2**31 - 1,
                   omit_when_default=True, required=False),  # seed is in the catalog only [S]; -1 (random) is its default
        ),
        media=(
            MediaRule(IMAGE, "imageUrls", max_count=9, max_bytes=IMAGE_UPLOAD_BYTES,
                      formats=("png", "jpg", "jpeg", "webp")),
            MediaRule(VIDEO, "videoUrls", max_count=3, max_bytes=50 * 1024 * 1024, formats=("mp4",),
                      min_seconds=2.0, max_seconds=15.0, max_total_seconds=15.0),
            MediaRule(AUDIO, "audioUrls", max_count=3, formats=("wav", "mp3"),
                      min_seconds=2.0, max_seconds=15.0, max_total_seconds=15.0),
        ),
        price_per_second={"cn": prices},  # lowest tier [S]; the price preview is the truth
        typical_run_s=typical_run_s,  # "minutes" [S]; no measured figure
        min_visual_references=1,  # expected for reference-to-video [U]
        audio_needs_visual=True,
        last_frame_wire="returnLastFrame",
        result_audio_option="generate_audio",
        real_person=True,
    )


V1_LITE = Model(
    id="seedance-v1-lite", label="Seedance v1-lite", path="seedance-v1-lite/reference-to-video",
    prompt_max_chars=5000,
    options=(
        Option("duration", "duration", "5", _durations(2, 12)),
        Option("resolution", "resolution", "720p", ("720p", "480p")),
        Option("aspect_ratio", "aspectRatio", "16:9", _V1_RATIOS),
        Option("camera_fixed", "cameraFixed", False, encoding=AS_BOOL_STRING),
    ),
    media=(MediaRule(IMAGE, "imageUrls", min_count=1, max_count=4, max_bytes=IMAGE_UPLOAD_BYTES,
                     formats=("png", "jpg", "jpeg")),),
    price_per_second={"cn": {"480p": 0.07, "720p": 0.15}},  # [S]; .ai (USD) unknown [U]
    typical_run_s=60.0,  # 720p x 5 s observed [S]
)

SEEDANCE_2 = _seedance_2("seedance-2.0", "Seedance 2.0", "rhart-video/sparkvideo-2.0/multimodal-video",
                         _V2_RESOLUTIONS,
                         {"480p": 0.6, "720p": 1.2, "1080p": 1.48, "native1080p": 3.0, "2k": 1.62, "4k": 1.83},
                         typical_run_s=180.0)
SEEDANCE_2_FAST = _seedance_2("seedance-2.0-fast", "Seedance 2.0 Fast",
                              "rhart-video/sparkvideo-2.0-fast/multimodal-video",
                              tuple(r for r in _V2_RESOLUTIONS if r != "native1080p"),
                              {"480p": 0.5, "720p": 1.0, "1080p": 1.28, "2k": 1.42, "4k": 1.63},
                              typical_run_s=120.0)

MODELS: dict[str, Model] = {m.id: m for m in (V1_LITE, SEEDANCE_2, SEEDANCE_2_FAST)}
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


def all_choices(name: str, among: Iterable[Model] | None = None) -> tuple[str, ...]:
    """Every value of an option across the models (all, or ``among``), in first-seen order: the
    choices of a node combo or CLI flag that serves several models."""
    seen: dict[str, None] = {}
    for model in MODELS.values() if among is None else among:
        for value in model.choices(name):
            seen.setdefault(value, None)
    return tuple(seen)
