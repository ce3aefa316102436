"""The option inputs of the nodes that serve several Seedance models, built from the model table,
and the one way such a node turns its widget values into a request.

A node shows the union of its models' options; a widget whose option the chosen model lacks is
left out of the request while it keeps its neutral value (a seed of -1, a switch that is off), and
refused by the request's validation, naming the option, when it does not.
"""
from __future__ import annotations

from typing import Any, Sequence

from comfy_api.latest import io

from . import schema
from ..runninghub_video.remote import models
from ..runninghub_video.remote import request as client_request

# The value of each option that asks for nothing: sent only where the model has the option.
NEUTRAL: dict[str, Any] = {"seed": -1, "camera_fixed": False, "web_search": False, "task_type": "auto",
                           "bitrate": "standard"}


# The model combo's entry that tells js/sockets.js how many references each model takes.
REFERENCE_LIMITS = "runninghub_references"


def model_input(family: Sequence[models.Model], default: models.Model, tooltip: str) -> io.Combo.Input:
    return io.Combo.Input("model", options=[m.id for m in family], default=default.id, tooltip=tooltip)


def with_reference_limits(combo: io.Combo.Input, family: Sequence[models.Model]) -> io.Combo.Input:
    """The model combo, telling the frontend how many images, videos and audio clips each model of
    ``family`` takes (its label, then a count per kind): js/sockets.js shows the reference sockets
    one by one as they are connected, up to the chosen model's counts. An entry of the input's
    ``extra_dict``, which every ComfyUI passes into /object_info (0.3.64's Combo takes no such
    argument, so it is set on the input)."""
    combo.extra_dict = {**combo.extra_dict, REFERENCE_LIMITS: {
        m.id: {"label": m.label, **{kind: rule.max_count for kind in (models.IMAGE, models.VIDEO, models.AUDIO)
                                    if (rule := m.rule(kind)) is not None}}
        for m in family}}
    return combo


def resolution_input(family: Sequence[models.Model], default: models.Model, tooltip: str) -> io.Combo.Input:
    return io.Combo.Input("resolution", options=list(models.all_choices("resolution", family)),
                          default=default.default("resolution"), tooltip=tooltip)


def duration_input(family: Sequence[models.Model], default: models.Model, tooltip: str) -> io.Int.Input:
    seconds = [s for m in family for s in m.durations()]
    return io.Int.Input("duration", default=int(default.default("duration")), min=min(seconds), max=max(seconds),
                        step=1, display_mode=io.NumberDisplay.slider, tooltip=tooltip)


def duration_auto_input(family: Sequence[models.Model]) -> io.Boolean.Input:
    """"Let the model choose the length" ("-1" on the wire), for a node some of whose models take it
    (the CLI's ``--duration auto``); off, the duration widget's seconds are sent."""
    takers = [m.label for m in family if models.AUTO in m.choices("duration")]
    who = "Seedance 2.x" if all(t.startswith("Seedance 2.") for t in takers) else ", ".join(takers)
    return schema.switch("duration_auto", False, f"On: the model chooses the video's length and the duration above "
                         f"is ignored ({who} only). Its price is known only as a range (shortest to longest "
                         "length), shown under the node; the budget counts the top.", on="auto")


def ratio_input(family: Sequence[models.Model], default: str, tooltip: str) -> io.Combo.Input:
    return io.Combo.Input("aspect_ratio", options=list(models.all_choices("aspect_ratio", family)), default=default,
                          tooltip=tooltip)


def seed_input(tooltip: str) -> io.Int.Input:
    """-1 = random on RunningHub. The after-generate control starts at "fixed" (js/runninghub.js
    for frontends that ignore the schema's default), so queuing again reuses the video instead of paying."""
    option = models.SEEDANCE_2.option("seed")
    fixed = getattr(getattr(io, "ControlAfterGenerate", None), "fixed", True)
    return io.Int.Input("seed", default=option.default, min=option.minimum, max=option.maximum,
                        control_after_generate=fixed, tooltip=tooltip)


def build_request(model: str, mode: str, prompt: str, counts: dict[str, int], **widgets: Any):
    """The validated request of a node's run: its widgets, minus the neutral ones the chosen
    model's ``mode`` has no field for, with the counts of its connected references."""
    spec = models.get(model)
    endpoint = spec.endpoint(mode)
    if widgets.pop("duration_auto", False):
        widgets["duration"] = models.AUTO
    values = {name: value for name, value in widgets.items()
              if endpoint is None or endpoint.option(name) is not None or value != NEUTRAL.get(name, None)}
    if "duration" in values:
        values["duration"] = str(values["duration"])
    return client_request.VideoRequest(prompt=prompt, model=spec.id, mode=mode, last_frame=True,
                                       **values).with_references(counts).validated()
