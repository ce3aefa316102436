"""Seedance v1-lite reference-to-video on RunningHub, fetching a task's video by id, and what
every RunningHub video node shares: how it makes its video and the result it returns."""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from . import batch_status, schema
from . import comfy_bridge as bridge
from ..runninghub_video.remote import models
from ..runninghub_video.remote import request as client_request
from ..runninghub_video.words import wording


class VideoNode(io.ComfyNode):
    """A node that returns a RunningHub video. After a batch in which items failed, ComfyUI must not
    serve the node's cached outputs: queuing again runs it, reusing what was saved (0 paid)."""

    @classmethod
    def fingerprint_inputs(cls, **kwargs) -> int:
        return batch_status.skipped_items()


def video_result(result, progress: bridge.NodeProgress) -> io.NodeOutput:
    """The four outputs plus the on-node preview, and a closing status line with id and cost."""
    import torch

    from ..runninghub_video.media import last_frame

    path = Path(result.video_path)
    frame_path = result.last_frame_path or last_frame.save(path)
    frame = torch.from_numpy(last_frame.load_rgb(frame_path).astype("float32") / 255.0)[None]
    line = wording.finished(str(result.task_id), path.name, reused=result.reused, resumed=result.resumed,
                            cost=result.cost, elapsed_s=result.elapsed_s, lang=progress.lang)
    if result.note is not None:  # a fetch's word on the unanswered submit it may answer
        line += "\n" + result.note.text(progress.lang)
    progress.text(line, kind="done", cost=result.cost)
    return io.NodeOutput(bridge.video_from_file(path), str(path), str(result.task_id), frame,
                         ui=bridge.preview_of(path))


async def generate_video(cls, progress: bridge.NodeProgress, images, request, site: str, timeout_minutes: int,
                         variation: int, **media) -> io.NodeOutput:
    """Make (or reuse) the video of a validated request for node ``cls``; its batch tag names the
    model and the node. ``media``: generate's other references (videos, audios, start/end image)."""
    from ..runninghub_video.run import pipeline

    result = await bridge.run_blocking(
        pipeline.generate, images, request, site=site, output_dir=bridge.output_directory(), on_progress=progress,
        should_cancel=bridge.interrupted, timeout_s=timeout_minutes * 60, variation=variation,
        batch=progress.batch_tag(f"{request.spec.label} · node {cls.hidden.unique_id}"), **media)
    return video_result(result, progress)


async def run_video(cls, request, site: str, timeout_minutes: int, variation: int, images=(),
                    **media) -> io.NodeOutput:
    """:func:`generate_video` under the node's status line; a failed item of a batch gets its placeholder.
    ``request``: the request, or a function building (and validating) it, called under the status line
    so that a refusal of the widgets shows there, in the browser's language, like any other error."""
    async with bridge.node_status(cls.hidden.unique_id, site=site) as progress:
        request = request() if callable(request) else request
        return await generate_video(cls, progress, list(images), request, site, timeout_minutes, variation, **media)
    return bridge.failed_item_output(progress)  # a batch item that failed (node_status went on)


class SeedanceReferenceToVideo(VideoNode):
    """One to four reference images and a prompt in, a RunningHub Seedance video out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        spec = models.V1_LITE
        durations = spec.choices("duration")
        first, last = int(durations[0]), int(durations[-1])
        return schema.video_node(
            node_id="RunningHubSeedanceReferenceToVideo",
            display_name="Seedance Reference to Video (RunningHub)",
            description=("Makes a video with RunningHub's Seedance v1-lite reference-to-video model from 1-4 "
                         "reference images and a prompt. Paid per second of video; queuing the same inputs "
                         "again reuses the saved video instead of paying twice."),
            inputs=[
                io.Image.Input("image_1", tooltip="First reference image (required). A batch counts one "
                                                  "reference per image; at most 4 in total."),
                io.Image.Input("image_2", optional=True, tooltip="Optional second reference image."),
                io.Image.Input("image_3", optional=True, tooltip="Optional third reference image."),
                io.Image.Input("image_4", optional=True, tooltip="Optional fourth reference image."),
                io.String.Input("prompt", multiline=True, default="",
                                tooltip=f"What should happen in the video (1-{spec.prompt_max_chars} "
                                        "characters). Refer to the references by what they show."),
                io.Int.Input("duration", default=int(spec.default("duration")), min=first, max=last, step=1,
                             display_mode=io.NumberDisplay.slider,
                             tooltip=f"Video length in seconds ({first}-{last}); the price grows with it."),
                io.Combo.Input("resolution", options=list(spec.choices("resolution")),
                               default=spec.default("resolution"),
                               tooltip="Output resolution; 720p costs about twice as much as 480p."),
                io.Combo.Input("aspect_ratio", options=list(spec.choices("aspect_ratio")),
                               default=spec.default("aspect_ratio"), tooltip="Width:height of the video."),
                schema.switch("camera_fixed", False, "Keep the camera still (no pans or zooms)."),
            ],
            aliases=("seedance", "reference to video", "image to video", "runninghub", "即梦"),
        )

    @classmethod
    async def execute(cls, image_1, prompt: str, duration: int, resolution: str, aspect_ratio: str,
                      camera_fixed: bool, site: str, timeout_minutes: int, variation: int,
                      image_2=None, image_3=None, image_4=None) -> io.NodeOutput:
        images = [image for image in (image_1, image_2, image_3, image_4) if image is not None]
        request = client_request.VideoRequest(prompt=prompt, duration=str(duration), resolution=resolution,
                                              aspect_ratio=aspect_ratio, camera_fixed=bool(camera_fixed),
                                              last_frame=True)
        return await run_video(cls, request, site, timeout_minutes, variation, images)


class FetchTask(VideoNode):
    """Collect the video of a task made earlier (a crash, a timeout, the CLI, another machine)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return schema.video_node(
            node_id="RunningHubFetchTask",
            display_name="RunningHub Fetch Task",
            description=("Waits for and downloads the video of an existing RunningHub task by its id, "
                         "without paying again. Results stay downloadable for 24 hours."),
            inputs=[
                io.String.Input("task_id", default="",
                                tooltip="The task id shown by the Seedance node, an error message or the CLI "
                                        "(19 digits such as 2013508786110730241), or the address of its call "
                                        "record on RunningHub's site."),
            ],
            aliases=("fetch task", "download task", "recover video", "task id"),
            pays=False,
        )

    @classmethod
    async def execute(cls, task_id: str, site: str, timeout_minutes: int) -> io.NodeOutput:
        async with bridge.node_status(cls.hidden.unique_id, site=site) as progress:
            from ..runninghub_video.run import pipeline

            result = await bridge.run_blocking(
                pipeline.fetch_task, task_id, site=site, output_dir=bridge.output_directory(),
                on_progress=progress, should_cancel=bridge.interrupted, timeout_s=timeout_minutes * 60,
                want_last_frame=True)
            return video_result(result, progress)
        return bridge.failed_item_output(progress)  # a batch item that failed (node_status went on)
