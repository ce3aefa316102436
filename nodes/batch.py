"""Batches the ComfyUI way: a list of prompts × variations in, any of our video nodes mapped over it.

*RunningHub Prompt List* outputs lists (``is_output_list``). ComfyUI then runs the video node it
feeds once per item, all in the same queue item; our video nodes are async, so ComfyUI runs those
calls concurrently and the pipeline's slot limiter keeps them at the account's limit. The video
node's outputs become lists, and *RunningHub Video Grid* (``is_input_list``) takes the whole list
of saved videos and shows them as one labelled grid. This is the CLI's ``batch`` with the lines of
a batch file as prompt lines and ``count`` as ``variations``.

A failed item does not fail the node (skip on failure, as the CLI's batch): it keeps its place in
the lists as a placeholder (see ``comfy_bridge.failed_item_output``), so labels still line up,
and the grid draws it as a red cell saying why and whether it was charged.
"""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from . import comfy_bridge as bridge
from . import schema
from ..runninghub_video.core import errors
from ..runninghub_video.words import wording

MAX_VARIATIONS = 100


def prompt_items(text: str, upstream: list[str], variations: int, first_variation: int) -> list[tuple[str, int]]:
    """(prompt, variation) per item: each prompt (the text's non-empty lines, then the upstream
    list's) with variations first_variation … first_variation + variations − 1, prompt by prompt."""
    prompts = [line.strip() for line in (text or "").splitlines() if line.strip()]
    prompts += [p.strip() for p in upstream if isinstance(p, str) and p.strip()]
    if not prompts:
        raise errors.ValidationError("No prompts: write one prompt per line, or connect a list of prompts.",
                                     code="prompts_none")
    if not 1 <= variations <= MAX_VARIATIONS:
        raise errors.ValidationError(f"variations must be from 1 to {MAX_VARIATIONS}, not {variations}.",
                                     code="variations_range", details={"maximum": MAX_VARIATIONS, "value": variations})
    return [(prompt, first_variation + v) for prompt in prompts for v in range(variations)]


class PromptList(io.ComfyNode):
    """N prompts × M variations as lists, for a video node to run as one batch."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RunningHubPromptList",
            display_name="RunningHub Prompt List",
            category=schema.CATEGORY,
            description=("Turns prompts (one per line, or a list from upstream) × variations into lists. Connect "
                         "prompt and variation to a RunningHub video node: ComfyUI runs it once per item, in one "
                         "queue item, as many at once as your account allows."),
            inputs=[
                io.String.Input("prompts", multiline=True, default="",
                                tooltip="One prompt per line; empty lines are skipped."),
                io.Int.Input("variations", default=1, min=1, max=MAX_VARIATIONS,
                             tooltip="Videos per prompt: each a new paid video (its own variation number)."),
                io.Int.Input("first_variation", default=0, min=0, max=2**31 - 1 - MAX_VARIATIONS,
                             tooltip="The variation number of each prompt's first video; keep it to reuse the "
                                     "videos already made, raise it to pay for new ones.", **schema.advanced()),
                io.String.Input("prompt_list", optional=True, force_input=True,
                                tooltip="Prompts from upstream (a list, or one text); added after the lines above."),
            ],
            outputs=[
                io.String.Output("prompt", display_name="prompt", is_output_list=True,
                                 tooltip="Each item's prompt: connect to the video node's prompt."),
                io.Int.Output("variation", display_name="variation", is_output_list=True,
                              tooltip="Each item's variation: connect to the video node's variation."),
                io.String.Output("label", display_name="label", is_output_list=True,
                                 tooltip="Each item's label (prompt number, variation, prompt): connect to "
                                         "RunningHub Video Grid's labels."),
                io.Int.Output("count", display_name="count", tooltip="How many items (videos) the lists hold."),
            ],
            is_input_list=True,
            **schema.search_aliases("batch", "prompt list", "many prompts", "批量"),
        )

    @classmethod
    def execute(cls, prompts: list[str], variations: list[int], first_variation: list[int],
                prompt_list: list[str] | None = None) -> io.NodeOutput:
        text = "\n".join(p for p in prompts if isinstance(p, str))  # a list reaching the widget's socket too
        try:
            items = prompt_items(text, prompt_list or [], int(variations[0]), int(first_variation[0]))
        except errors.ValidationError as exc:  # ComfyUI's dialog says it in the browser's language
            exc.args = (wording.error_line(exc, bridge.prompt_language()),)
            raise bridge.named_for_dialog(exc) from None
        numbers: dict[str, int] = {}
        labels = []
        for prompt, variation in items:
            number = numbers.setdefault(prompt, len(numbers) + 1)
            labels.append(f"{number} · v{variation} · {prompt}")
        return io.NodeOutput([p for p, _ in items], [v for _, v in items], labels, len(items))


class VideoGrid(io.ComfyNode):
    """The first frame of each video of a batch, labelled, as one IMAGE and a preview."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RunningHubVideoGrid",
            display_name="RunningHub Video Grid",
            category=schema.CATEGORY,
            description="A contact sheet of a batch: the first frame of every video, labelled, in one grid "
                        "(saved beside the videos and shown on the node).",
            inputs=[
                io.String.Input("video_path", force_input=True,
                                tooltip="The video node's video_path list (a batch from RunningHub Prompt List); "
                                        "an item that failed shows as a red cell saying why."),
                io.String.Input("labels", optional=True, force_input=True,
                                tooltip="RunningHub Prompt List's label list; without it the cells are numbered."),
            ],
            outputs=[io.Image.Output("grid", display_name="grid", tooltip="The grid as an IMAGE.")],
            hidden=[io.Hidden.unique_id, io.Hidden.prompt],
            is_input_list=True,
            is_output_node=True,
            **schema.search_aliases("contact sheet", "grid", "batch preview"),
        )

    @classmethod
    async def execute(cls, video_path: list[str], labels: list[str] | None = None) -> io.NodeOutput:
        import time

        import numpy as np
        import torch

        from ..runninghub_video.media import sheet
        from ..runninghub_video.remote import download

        lang = bridge.prompt_language()
        paths = [Path(p) if p else None for p in video_path]  # "": a batch item that gave no video
        names = list(labels or [])
        names += [str(i + 1) for i in range(len(names), len(paths))]
        failures = [wording.say("grid_failed", lang, why=why) if (why := bridge.batch_failure(
            cls.hidden.prompt, cls.hidden.unique_id, "video_path", i)) else wording.say("grid_no_video", lang)
            for i in range(len(paths))]
        image = await bridge.run_blocking(sheet.labelled_sheet, paths, names, failures)
        folder = bridge.output_directory() / download.SUBFOLDER
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}_batch_grid.png"
        await bridge.run_blocking(image.save, folder / name)
        grid = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None]
        return io.NodeOutput(grid, ui=bridge.image_preview(folder / name))
