"""Schema pieces every node of the pack shares: its category, the schema of a node that returns a
RunningHub video (:func:`video_node`: its site / timeout / variation inputs, VIDEO outputs), and the
newer V3 features used only where the running ComfyUI offers them.

ComfyUI 0.3.64 has neither ``advanced`` inputs nor ``Schema.search_aliases`` and rejects unknown
keywords, so both are passed only when ComfyUI's own signatures name them. The nodes are never
marked ``is_api_node``: that is for Comfy.org's API nodes and gates the Run button behind a Comfy
sign-in.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from comfy_api.latest import io

from ..runninghub_video.remote import facts

CATEGORY = "RunningHub"
SITE_TOOLTIP = ("Which RunningHub site to use: cn = www.runninghub.cn (CNY), ai = www.runninghub.ai (USD). "
                "Keys do not cross sites; set the key in Settings → RunningHub.")
TIMEOUT_TOOLTIP = ("How long to wait for the video before giving up (the task keeps running on RunningHub "
                   "and can be fetched later by its task id).")


def _offers_advanced() -> bool:
    return "advanced" in inspect.signature(io.Int.Input.__init__).parameters


def _offers_search_aliases() -> bool:
    return dataclasses.is_dataclass(io.Schema) and "search_aliases" in {f.name for f in dataclasses.fields(io.Schema)}


def advanced() -> dict[str, Any]:
    """``advanced=True`` where ComfyUI folds such inputs away (Nodes 2.0), else nothing."""
    return {"advanced": True} if _offers_advanced() else {}


def search_aliases(*aliases: str) -> dict[str, Any]:
    """Extra words the node search finds the node by, where ComfyUI supports them."""
    return {"search_aliases": list(aliases)} if _offers_search_aliases() else {}


def video_node(node_id: str, display_name: str, description: str, inputs: list, aliases: tuple[str, ...], *,
               pays: bool = True, last: tuple = ()) -> io.Schema:
    """The schema of a node that returns a RunningHub video: its own ``inputs``, then site and
    timeout (and variation, for a node that ``pays`` for a new video), then ``last`` (inputs added
    later go there, so saved workflows keep their widget values); the VIDEO outputs; an output
    node, so ComfyUI runs it even when nothing is connected (its video is saved and paid for)."""
    common = [site_input(), timeout_input(), *([variation_input()] if pays else []), *last]
    return io.Schema(node_id=node_id, display_name=display_name, category=CATEGORY, description=description,
                     inputs=[*inputs, *common], outputs=video_outputs(), hidden=[io.Hidden.unique_id],
                     is_output_node=True, **search_aliases(*aliases))


def site_input() -> io.Combo.Input:
    return io.Combo.Input("site", options=list(facts.SITES), default=facts.DEFAULT_SITE, tooltip=SITE_TOOLTIP)


def timeout_input() -> io.Int.Input:
    return io.Int.Input("timeout_minutes", default=facts.DEFAULT_TIMEOUT_S // 60, min=1, max=24 * 60,
                        tooltip=TIMEOUT_TOOLTIP, **advanced())


def variation_input() -> io.Int.Input:
    return io.Int.Input("variation", default=0, min=0, max=2**31 - 1,
                        tooltip="Change to pay for a new video with the same inputs; keep it to reuse "
                                "the video already made for them.", **advanced())


REAL_PERSON_TOOLTIP = (
    "The references show real people. On: each image and video reference is converted once into an asset "
    "that RunningHub keeps on your account (reused by later runs; listed in the RunningHub tab, where you can "
    "delete it) and sent that way. Off: nothing is converted, and RunningHub refuses photorealistic people (1505).")


def switch(name: str, default: bool, tooltip: str, on: str = "on") -> io.Boolean.Input:
    """A switch of the pack: it reads on / off (``on``: another word for on), not true / false, and
    the frontend extension shows those words in the UI's language (开 / 关 in Chinese)."""
    return io.Boolean.Input(name, default=default, label_on=on, label_off="off", tooltip=tooltip)


def real_person_input() -> io.Boolean.Input:
    """Every Seedance 2.x node's "references show real people" switch; off by default."""
    return switch("real_person", False, REAL_PERSON_TOOLTIP)


def last_frame_output() -> io.Image.Output:
    return io.Image.Output("last_frame", display_name="last_frame",
                           tooltip="The video's last frame as an IMAGE: connect it as the first reference of the "
                                   "next clip to chain clips.")


def video_outputs() -> list:
    """video, video_path, task_id, then last_frame: appended last, so saved workflows keep their links."""
    return [
        io.Video.Output("video", display_name="video",
                        tooltip="The generated MP4 as a ComfyUI VIDEO (connect to Save Video, Get Video "
                                "Components, RunningHub Video to Frames…)."),
        io.String.Output("video_path", display_name="video_path",
                         tooltip="Full path of the saved MP4 (in the output folder's runninghub/ subfolder)."),
        io.String.Output("result_task_id", display_name="task_id",
                         tooltip="RunningHub task id: keep it to fetch the video again within 24 hours."),
        last_frame_output(),
    ]
