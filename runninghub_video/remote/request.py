"""A reference-to-video request and its validation (before anything is uploaded or paid).

Everything model-specific (fields, wire names and types, enums, reference limits) is read from
the model table in :mod:`runninghub_video.remote.models`; this module holds no per-model branches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from . import facts, models
from ..core.errors import ValidationError
from .models import AUDIO, AS_BOOL, AS_BOOL_STRING, AS_INT, IMAGE, VIDEO

# The option fields below, by name; a model uses the ones its table lists.
OPTION_NAMES = ("duration", "resolution", "aspect_ratio", "camera_fixed", "generate_audio", "seed")
KIND_WORDS = {IMAGE: "images", VIDEO: "videos", AUDIO: "audio clips"}
PREVIEW_PROMPT = "price preview"  # the prompt of a request sent only to learn its price


@dataclass(frozen=True)
class VideoRequest:
    """Prompt and options of one run. ``None`` means the model's default; an option the model
    does not have must stay unset (or False)."""
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

    @property
    def spec(self) -> models.Model:
        return models.get(self.model)

    def validated(self) -> VideoRequest:
        """A normalised copy (prompt stripped, model defaults filled in), or a ValidationError."""
        spec = self.spec
        prompt = (self.prompt or "").strip()
        if not prompt:
            raise ValidationError(f"The prompt is empty: describe the video you want (1–{spec.prompt_max_chars} "
                                  "characters).")
        if len(prompt) > spec.prompt_max_chars:
            raise ValidationError(f"The prompt has {len(prompt)} characters; shorten it to at most "
                                  f"{spec.prompt_max_chars}.")
        values: dict[str, Any] = {}
        for name in OPTION_NAMES:
            option, raw = spec.option(name), getattr(self, name)
            if option is None:
                if raw not in (None, False):
                    raise ValidationError(f"{_title(name)} is not an option of {spec.label}; leave it unset.")
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
                                         "or charged.")
        return replace(self, prompt=prompt, model=spec.id, **values)

    def options(self) -> dict:
        """Everything that shapes the video except the references, by wire name: the submit body
        without its URL arrays (the fingerprint and the journal row are built from it). Call on a
        validated request."""
        spec = self.spec
        fields: dict[str, Any] = {"prompt": self.prompt}
        for option in spec.options:
            value = getattr(self, option.name)
            if not (option.omit_when_default and value == option.default):
                fields[option.wire] = option.wire_value(value)
        if spec.last_frame_wire and self.last_frame:
            fields[spec.last_frame_wire] = True
        return fields

    def body(self, urls: Mapping[str, Sequence[str]] | Sequence[str]) -> dict:
        """The JSON body of submit and price preview. ``urls``: uploaded URLs by reference kind
        (a plain list means image URLs). Call on a validated request."""
        spec = self.spec
        by_kind = dict(urls) if isinstance(urls, Mapping) else {IMAGE: list(urls)}
        check_counts(spec, {kind: len(items) for kind, items in by_kind.items()})
        body: dict[str, Any] = {"prompt": self.prompt}
        for rule in spec.media:
            items = list(by_kind.get(rule.kind, ()))
            if items or rule.min_count:  # optional arrays are left out when empty
                body[rule.wire] = items
        return {**body, **self.options()}


def check_counts(model: models.Model | str, counts: Mapping[str, int]) -> None:
    """Reference counts per kind against the model's limits, each message naming the limit."""
    spec = models.get(model)
    for kind, count in counts.items():
        rule = spec.rule(kind)
        if rule is None and count:
            able = [m.label for m in models.MODELS.values() if m.rule(kind) is not None]
            raise ValidationError(f"{spec.label} takes no {KIND_WORDS[kind]} as references; "
                                  f"{' or '.join(able)} do.")
    for rule in spec.media:
        check_kind_count(spec, rule.kind, counts.get(rule.kind, 0))
    visual = counts.get(IMAGE, 0) + counts.get(VIDEO, 0)
    if visual < spec.min_visual_references:
        kinds = " or ".join("an image" if r.kind == IMAGE else "a video" for r in spec.media
                            if r.kind in (IMAGE, VIDEO))
        raise ValidationError(f"{spec.label} needs at least {spec.min_visual_references} reference "
                              f"({kinds}); connect one.")
    if spec.audio_needs_visual and counts.get(AUDIO, 0) and not visual:
        raise ValidationError(f"Audio references need at least one image or video reference alongside them "
                              f"({spec.label} rule).")


def check_kind_count(model: models.Model | str, kind: str, count: int) -> None:
    """The count of one kind against its own range (images: a batch counts one per image)."""
    spec = models.get(model)
    rule = spec.rule(kind)
    if rule is None:
        return
    if not rule.min_count <= count <= rule.max_count:
        batch = " (a batch counts one per image)" if kind == IMAGE else ""
        raise ValidationError(f"{count} reference {KIND_WORDS[kind]} given: {spec.label} takes between "
                              f"{rule.min_count} and {rule.max_count}{batch}.")


def check_image_count(count: int, model: models.Model | str = models.DEFAULT_MODEL) -> None:
    check_kind_count(model, IMAGE, count)


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
                raise ValidationError(f"{title} {value!r} is not a whole number.") from None
        if not option.minimum <= value <= option.maximum:
            raise ValidationError(f"{title} {value} is out of range: use {option.minimum} to {option.maximum}"
                                  + (" (-1 = random)." if option.name == "seed" else "."))
        return value
    text = str(value).strip()
    if option.name == "duration":
        text = text.removesuffix("s")
        if text not in option.choices:
            raise ValidationError(f"Duration {value!r} is not allowed for {spec.label}: use a whole number of "
                                  f"seconds from {option.choices[0]} to {option.choices[-1]}.")
        return text
    if text not in option.choices:
        raise ValidationError(f"{title} {value!r} is not allowed for {spec.label}: use one of "
                              f"{', '.join(option.choices)}.")
    return text


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def check_task_id(task_id: object) -> str:
    """A task id as RunningHub issues them (a run of digits), or a ValidationError before any call."""
    text = str(task_id or "").strip()
    if not re.fullmatch(facts.TASK_ID_PATTERN, text):
        raise ValidationError(f"{text[:40]!r} is not a RunningHub task id: it is a long number such as "
                              "2013508786110730241 (shown by the node, an error message or the CLI).",
                              advice="Nothing was sent.")
    return text
