"""The reference-to-video request and its validation (before anything is uploaded or paid)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import facts
from .errors import ValidationError


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    duration: str = facts.DEFAULT_DURATION
    resolution: str = facts.DEFAULT_RESOLUTION
    aspect_ratio: str = facts.DEFAULT_ASPECT_RATIO
    camera_fixed: bool = False

    def validated(self) -> VideoRequest:
        """A normalised copy (prompt stripped, duration as a string), or a ValidationError."""
        prompt = (self.prompt or "").strip()
        if not prompt:
            raise ValidationError("The prompt is empty: describe the video you want (1–5000 characters).")
        if len(prompt) > facts.PROMPT_MAX_CHARS:
            raise ValidationError(f"The prompt has {len(prompt)} characters; shorten it to at most "
                                  f"{facts.PROMPT_MAX_CHARS}.")
        duration = str(self.duration).strip()
        if duration.endswith("s"):
            duration = duration[:-1]
        if duration not in facts.DURATIONS:
            raise ValidationError(f"Duration {self.duration!r} is not allowed: use a whole number of seconds "
                                  f"from {facts.DURATIONS[0]} to {facts.DURATIONS[-1]}.")
        _check_enum("Resolution", self.resolution, facts.RESOLUTIONS)
        _check_enum("Aspect ratio", self.aspect_ratio, facts.ASPECT_RATIOS)
        if not isinstance(self.camera_fixed, bool):
            raise ValidationError(f"camera_fixed must be true or false, not {self.camera_fixed!r}.")
        return VideoRequest(prompt, duration, self.resolution, self.aspect_ratio, self.camera_fixed)

    @property
    def model(self) -> str:
        """The RunningHub model this request is for (part of its fingerprint and journal row)."""
        return facts.MODEL

    def options(self) -> dict:
        """Everything that shapes the video except the references, named as the API names them
        (the journal stores these, and reads ``resolution``/``duration`` back for pacing)."""
        body = self.body(["-"] * facts.MIN_IMAGES)
        del body["imageUrls"]
        return body

    def body(self, image_urls: list[str]) -> dict:
        """The JSON body of submit and price preview (no seed: the API has none)."""
        check_image_count(len(image_urls))
        return {
            "prompt": self.prompt,
            "imageUrls": list(image_urls),
            "duration": str(self.duration),
            "cameraFixed": "true" if self.camera_fixed else "false",
            "resolution": self.resolution,
            "aspectRatio": self.aspect_ratio,
        }


def check_image_count(count: int) -> None:
    if not facts.MIN_IMAGES <= count <= facts.MAX_IMAGES:
        raise ValidationError(f"{count} reference images given: connect between {facts.MIN_IMAGES} and "
                              f"{facts.MAX_IMAGES} (a batch counts one per image).")


def _check_enum(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationError(f"{name} {value!r} is not allowed: use one of {', '.join(allowed)}.")


def check_task_id(task_id: object) -> str:
    """A task id as RunningHub issues them (a run of digits), or a ValidationError before any call."""
    text = str(task_id or "").strip()
    if not re.fullmatch(facts.TASK_ID_PATTERN, text):
        raise ValidationError(f"{text[:40]!r} is not a RunningHub task id: it is a long number such as "
                              "2013508786110730241 (shown by the node, an error message or the CLI).",
                              advice="Nothing was sent.")
    return text
