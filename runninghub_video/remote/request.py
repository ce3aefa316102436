"""A video request and its one validation (before anything is read, uploaded or paid).

Everything model-specific (modes, fields, wire names and types, enums, reference limits, prices)
is read from the model table in :mod:`runninghub_video.remote.models`; this module holds no
per-model branches. :meth:`VideoRequest.validated` is the one place a request is checked: its
options against the entry's endpoint for the mode, and its reference counts (``references``,
known before any file is decoded) against that endpoint's limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from . import facts, models
from ..core.errors import ValidationError
from ..core.money import Money, Price
from .models import AS_BOOL, AS_BOOL_STRING, AS_INT, AUDIO, AUTO, FIRST_FRAME, IMAGE, LAST_FRAME, VIDEO

# The option fields below, by name; a model uses the ones its endpoint lists.
OPTION_NAMES = ("duration", "resolution", "aspect_ratio", "camera_fixed", "generate_audio", "seed", "web_search",
                "task_type", "bitrate")
KINDS = (IMAGE, VIDEO, AUDIO, FIRST_FRAME, LAST_FRAME)
KIND_WORDS = {IMAGE: "images", VIDEO: "videos", AUDIO: "audio clips", FIRST_FRAME: "start images",
              LAST_FRAME: "end images"}
PREVIEW_PROMPT = "price preview"  # the prompt of a request sent only to learn its price

Counts = tuple[tuple[str, int], ...]  # (reference kind, how many), every kind the run sends


@dataclass(frozen=True)
class VideoRequest:
    """Prompt and options of one run. ``None`` means the model's default; an option the model
    does not have must stay unset (or False). ``mode``: reference, text or frames ("" = the
    model's first mode). ``references``: how many references of each kind the run sends, when
    known (then checked by :meth:`validated`)."""
    prompt: str
    duration: str | int | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    camera_fixed: bool | None = None
    model: str = models.DEFAULT_MODEL
    generate_audio: bool | None = None
    seed: int | None = None
    last_frame: bool = False  # ask RunningHub for the last frame as an image, where the model can
    real_person: bool = False  # references show real people: convert them into assets (run/real_person.py)
    web_search: bool | None = None
    task_type: str | None = None
    bitrate: str | None = None
    mode: str = ""
    references: Counts | None = None
    checked: bool = field(default=False, compare=False, repr=False)  # set by validated() only

    @property
    def spec(self) -> models.Model:
        return models.get(self.model)

    @property
    def endpoint(self) -> models.Endpoint:
        found = self.spec.endpoint(self.mode)
        if found is None:
            raise ValidationError(_no_such_mode(self.spec, self.mode), code="model_mode",
                                  details={"model": self.spec.label, "mode": self.mode, "modes": self.spec.modes})
        return found

    def count(self, kind: str) -> int:
        return dict(self.references or ()).get(kind, 0)

    def with_references(self, counts: Mapping[str, int]) -> VideoRequest:
        """This request with its reference counts (unchecked until :meth:`validated`)."""
        return replace(self, references=tuple((k, int(counts.get(k, 0))) for k in KINDS if counts.get(k)),
                       checked=False)

    def validated(self) -> VideoRequest:
        """A normalised copy (prompt stripped, model defaults filled in), or a ValidationError
        naming the option, the mode or the limit. A validated request is returned as it is."""
        if self.checked:
            return self
        spec = self.spec
        if self.mode and self.mode not in models.MODES:
            raise ValidationError(f"Mode {self.mode!r} is not known: use one of {', '.join(models.MODES)}.",
                                  code="mode_unknown", details={"value": self.mode, "modes": models.MODES})
        endpoint = self.endpoint
        prompt = (self.prompt or "").strip()
        if not prompt and endpoint.prompt_required:
            raise ValidationError(f"The prompt is empty: describe the video you want (1–{spec.prompt_max_chars} "
                                  "characters).", code="prompt_empty", details={"maximum": spec.prompt_max_chars})
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: half of an emoji, from a broken copy-paste
            raise ValidationError(f"The prompt cannot be sent: the character at position {exc.start + 1} is half "
                                  "of a character (a lone surrogate, often left by a broken copy and paste). "
                                  "Delete or retype it.", advice="Nothing was uploaded or charged.",
                                  code="prompt_half_character", details={"position": exc.start + 1}) from None
        if len(prompt) > spec.prompt_max_chars:
            raise ValidationError(f"The prompt has {len(prompt)} characters; shorten it to at most "
                                  f"{spec.prompt_max_chars}.", code="prompt_long",
                                  details={"characters": len(prompt), "maximum": spec.prompt_max_chars})
        values: dict[str, Any] = {}
        for name in OPTION_NAMES:
            option, raw = endpoint.option(name), getattr(self, name)
            if option is None:
                if raw not in (None, False):
                    raise ValidationError(f"{_title(name)} is not an option of {_where(spec, endpoint)}; "
                                          "leave it unset.", code="option_unused",
                                          details={"option": name, **_place(spec, endpoint)})
                values[name] = None
                continue
            values[name] = _checked(option, option.default if raw is None else raw, spec)
        if self.last_frame and not isinstance(self.last_frame, bool):
            raise ValidationError(f"last_frame must be true or false, not {self.last_frame!r}.")
        if self.real_person and not isinstance(self.real_person, bool):
            raise ValidationError(f"real_person must be true or false, not {self.real_person!r}.")
        if self.real_person and not spec.real_person:
            able = ", ".join(m.label for m in models.MODELS.values() if m.real_person)
            raise ValidationError(f"real_person is not available for {spec.label}: RunningHub offers no way to "
                                  f"send references of real people to it (only {able} take them).",
                                  advice="Turn real_person off, or pick one of those models. Nothing was uploaded "
                                         "or charged.", code="real_person_model",
                                  details={"model": spec.label, "able": able})
        if self.references is not None:
            _check_counts(spec, endpoint, dict(self.references), values)
        return replace(self, prompt=prompt, model=spec.id, mode=endpoint.mode, checked=True, **values)

    def options(self) -> dict:
        """Everything that shapes the video except the references, by wire name: the submit body
        without its URL fields (the fingerprint and the journal row are built from it). Call on a
        validated request."""
        spec, endpoint = self.spec, self.endpoint
        fields: dict[str, Any] = {"prompt": self.prompt} if self.prompt or endpoint.prompt_required else {}
        for option in endpoint.options:
            value = getattr(self, option.name)
            if not (option.omit_when_default and value == option.default):
                fields[option.wire] = option.wire_value(value)
        if spec.last_frame_wire and self.last_frame:
            fields[spec.last_frame_wire] = True
        return fields

    def body(self, urls: Mapping[str, Sequence[str]] | Sequence[str]) -> dict:
        """The JSON body of submit and price preview. ``urls``: uploaded URLs by reference kind
        (a plain list means image URLs). Call on a validated request: the counts were checked there."""
        by_kind = dict(urls) if isinstance(urls, Mapping) else {IMAGE: list(urls)}
        body: dict[str, Any] = {"prompt": self.prompt} if self.prompt or self.endpoint.prompt_required else {}
        for rule in self.endpoint.media:
            items = list(by_kind.get(rule.kind, ()))
            if rule.single:
                if items:
                    body[rule.wire] = items[0]
            elif items or rule.min_count:  # optional arrays are left out when empty
                body[rule.wire] = items
        return {**body, **self.options()}

    def table_price(self, site: str) -> Price | None:
        """The model table's price of this validated request in the site's currency (an exact
        amount or a range), or None where no table is known (.ai)."""
        found = self.spec.price_range(site, self.resolution, self.duration, sound=bool(self.generate_audio),
                                      videos=self.count(VIDEO), mode=self.mode)
        if found is None:
            return None
        currency = facts.SITE_CURRENCY[site]
        return Price(Money(found[0], currency), Money(found[1], currency))


def infer_mode(model: models.Model | str, counts: Mapping[str, int]) -> str:
    """The mode a run means when it names none: frames with a start or end image, reference with
    any image, video or audio, else text (where the model has it; else its first mode)."""
    spec = models.get(model)
    if counts.get(FIRST_FRAME) or counts.get(LAST_FRAME):
        return models.FRAMES
    if any(counts.get(kind) for kind in (IMAGE, VIDEO, AUDIO)):
        return models.REFERENCE
    return models.TEXT if models.TEXT in spec.modes else spec.modes[0]


def _no_such_mode(spec: models.Model, mode: str) -> str:
    able = ", ".join(m.id for m in models.with_mode(mode))
    return (f"{spec.label} has no {mode} mode: it offers {' and '.join(spec.modes)}."
            + (f" Models with {mode} mode: {able}." if able else ""))


def _where(spec: models.Model, endpoint: models.Endpoint) -> str:
    """The model, and its mode where that is not the reference mode (references only exist there)."""
    place = _place(spec, endpoint)
    return f"{spec.label} in {place['mode']} mode" if place["mode"] else spec.label


def _place(spec: models.Model, endpoint: models.Endpoint) -> dict[str, str]:
    """:func:`_where` as an error's details: the model, and the mode ("" for the reference mode)."""
    return {"model": spec.label, "mode": "" if endpoint.mode in (models.REFERENCE, spec.modes[0]) else endpoint.mode}


def _check_counts(spec: models.Model, endpoint: models.Endpoint, counts: Mapping[str, int],
                  values: Mapping[str, Any]) -> None:
    """Reference counts per kind against the endpoint's limits, each message naming the limit."""
    where, place = _where(spec, endpoint), _place(spec, endpoint)
    for kind, count in counts.items():
        if endpoint.rule(kind) is None and count:
            able = [m.id for m in models.MODELS.values() if any(e.rule(kind) for e in m.endpoints)]
            raise ValidationError(f"{where} takes no {KIND_WORDS[kind]}" + (f"; {', '.join(able)} do." if able
                                                                              else "."),
                                  code="kind_unused", details={"kind": kind, "able": ", ".join(able), **place})
    for rule in endpoint.media:
        count = counts.get(rule.kind, 0)
        if rule.single and count < rule.min_count:
            raise ValidationError(f"{where} needs a {KIND_WORDS[rule.kind][:-1]} ({rule.kind.replace('_', ' ')}); "
                                  "none was given.", code="kind_missing", details={"kind": rule.kind, **place})
        if not rule.min_count <= count <= rule.max_count:
            batch = " (a batch counts one per image)" if rule.kind == IMAGE else ""
            raise ValidationError(f"{count} reference {KIND_WORDS[rule.kind]} given: {where} takes between "
                                  f"{rule.min_count} and {rule.max_count}{batch}.", code="kind_count",
                                  details={"kind": rule.kind, "count": count, "minimum": rule.min_count,
                                           "maximum": rule.max_count, **place})
    visual = counts.get(IMAGE, 0) + counts.get(VIDEO, 0)
    if visual < endpoint.min_visual_references:
        kinds = [r.kind for r in endpoint.media if r.kind in (IMAGE, VIDEO)]
        raise ValidationError(f"{where} needs at least {endpoint.min_visual_references} reference "
                              f"({' or '.join('an image' if k == IMAGE else 'a video' for k in kinds)}); connect one.",
                              code="visual_missing",
                              details={"minimum": endpoint.min_visual_references, "kinds": kinds, **place})
    if endpoint.audio_needs_visual and counts.get(AUDIO, 0) and not visual:
        raise ValidationError(f"Audio references need at least one image or video reference alongside them "
                              f"({spec.label} rule).", code="audio_alone", details={"model": spec.label})
    for option in endpoint.options:
        kind = option.needs.get(str(values.get(option.name)))
        if kind and not counts.get(kind):
            raise ValidationError(f"{_title(option.name)} {values[option.name]!r} needs at least one reference "
                                  f"{KIND_WORDS[kind][:-1]}; connect one or choose another {option.name.replace('_', ' ')}.",
                                  code="option_needs", details={"option": option.name, "value": values[option.name],
                                                                "kind": kind})


def _checked(option: models.Option, value: Any, spec: models.Model) -> Any:
    title = _title(option.name)
    if option.encoding in (AS_BOOL, AS_BOOL_STRING):
        if not isinstance(value, bool):
            raise ValidationError(f"{option.name} must be true or false, not {value!r}.")
        return value
    if option.encoding == AS_INT:
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(str(value).strip())
            except ValueError:
                raise ValidationError(f"{title} {value!r} is not a whole number.", code="option_whole",
                                      details={"option": option.name, "value": value}) from None
        if not option.minimum <= value <= option.maximum:
            raise ValidationError(f"{title} {value} is out of range: use {option.minimum} to {option.maximum}"
                                  + (" (-1 = random)." if option.name == "seed" else "."), code="option_range",
                                  details={"option": option.name, "value": value, "minimum": option.minimum,
                                           "maximum": option.maximum})
        return value
    text = str(value).strip()
    if option.name == "duration":
        text = text.removesuffix("s")
        if text == "-1" and AUTO in option.choices:
            text = AUTO
        if text not in option.choices:
            seconds = [c for c in option.choices if c != AUTO]
            auto = ", or auto (the model chooses)" if AUTO in option.choices else ""
            raise ValidationError(f"Duration {value!r} is not allowed for {spec.label}: use a whole number of "
                                  f"seconds from {seconds[0]} to {seconds[-1]}{auto}.", code="duration_choice",
                                  details={"value": value, "model": spec.label, "minimum": seconds[0],
                                           "maximum": seconds[-1], "auto": bool(auto)})
        return text
    if text not in option.choices:
        raise ValidationError(f"{title} {value!r} is not allowed for {spec.label}: use one of "
                              f"{', '.join(option.choices)}.", code="option_choice",
                              details={"option": option.name, "value": value, "model": spec.label,
                                       "choices": ", ".join(option.choices)})
    return text


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()
