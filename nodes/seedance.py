"""Seedance v1-lite reference-to-video on RunningHub, fetching a task's video by id, and the
inputs and outputs every RunningHub video node shares."""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from . import comfy_bridge as bridge
from . import status_text
from .client import facts, load, models
from .client import request as client_request

CATEGORY = "RunningHub"
SITE_TOOLTIP = ("Which RunningHub site to use: cn = www.runninghub.cn (CNY), ai = www.runninghub.ai (USD). "
                "Keys do not cross sites; the key comes from ComfyUI's settings, RUNNINGHUB_API_KEY or "
                "`python -m runninghub_video login`.")
TIMEOUT_TOOLTIP = ("How long to wait for the video before giving up (the task keeps running on RunningHub "
                   "and can be fetched later by its task id).")


def site_input() -> io.Combo.Input:
    return io.Combo.Input("site", options=list(facts.SITES), default=facts.DEFAULT_SITE, tooltip=SITE_TOOLTIP)


def timeout_input() -> io.Int.Input:
    return io.Int.Input("timeout_minutes", default=facts.DEFAULT_TIMEOUT_S // 60, min=1, max=24 * 60,
                        tooltip=TIMEOUT_TOOLTIP)


def last_frame_output() -> io.Image.Output:
    return io.Image.Output("last_frame", display_name="last_frame",
                           tooltip="The video's last frame as an IMAGE: connect it as the first reference of the "
                                   "next clip to chain clips.")


def variation_input() -> io.Int.Input:
    return io.Int.Input("variation", default=0, min=0, max=2**31 - 1,
                        tooltip="Change to pay for a new video with the same inputs; keep it to reuse "
                                "the video already made for them.")


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


def video_result(result, progress: bridge.NodeProgress) -> io.NodeOutput:
    """The four outputs plus the on-node preview, and a closing status line with id and cost."""
    import torch

    path = Path(result.video_path)
    frame_path = result.last_frame_path or load("last_frame").save(path)
    frame = torch.from_numpy(load("last_frame").load_rgb(frame_path).astype("float32") / 255.0)[None]
    progress.text(status_text.finished(str(result.task_id), path.name, reused=result.reused, cost=result.cost,
                                       currency=facts.SITE_CURRENCY.get(result.site, ""),
                                       elapsed_s=result.elapsed_s))
    return io.NodeOutput(bridge.video_from_file(path), str(path), str(result.task_id), frame,
                         ui=bridge.preview_of(path))


class SeedanceReferenceToVideo(io.ComfyNode):
    """One to four reference images and a prompt in, a RunningHub Seedance video out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        spec = models.V1_LITE
        durations = spec.choices("duration")
        first, last = int(durations[0]), int(durations[-1])
        return io.Schema(
            node_id="RunningHubSeedanceReferenceToVideo",
            display_name="Seedance Reference to Video (RunningHub)",
            category=CATEGORY,
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
                io.Boolean.Input("camera_fixed", default=False,
                                 tooltip="Keep the camera still (no pans or zooms)."),
                site_input(),
                timeout_input(),
                variation_input(),
            ],
            outputs=video_outputs(),
            hidden=[io.Hidden.unique_id],
            is_output_node=True,
        )

    @classmethod
    async def execute(cls, image_1, prompt: str, duration: int, resolution: str, aspect_ratio: str,
                      camera_fixed: bool, site: str, timeout_minutes: int, variation: int,
                      image_2=None, image_3=None, image_4=None) -> io.NodeOutput:
        images = [image for image in (image_1, image_2, image_3, image_4) if image is not None]
        request = client_request.VideoRequest(prompt=prompt, duration=str(duration), resolution=resolution,
                                              aspect_ratio=aspect_ratio, camera_fixed=bool(camera_fixed),
                                              last_frame=True)
        progress = bridge.NodeProgress(cls.hidden.unique_id)
        result = await bridge.run_blocking(
            load("pipeline").generate, images, request, site=site, output_dir=bridge.output_directory(),
            on_progress=progress, should_cancel=bridge.interrupted, timeout_s=timeout_minutes * 60,
            variation=variation)
        return video_result(result, progress)


class FetchTask(io.ComfyNode):
    """Collect the video of a task made earlier (a crash, a timeout, the CLI, another machine)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RunningHubFetchTask",
            display_name="RunningHub Fetch Task",
            category=CATEGORY,
            description=("Waits for and downloads the video of an existing RunningHub task by its id, "
                         "without paying again. Results stay downloadable for 24 hours."),
            inputs=[
                io.String.Input("task_id", default="",
                                tooltip="The task id shown by the Seedance node, an error message or the CLI "
                                        "(a long number such as 2013508786110730241)."),
                site_input(),
                timeout_input(),
            ],
            outputs=video_outputs(),
            hidden=[io.Hidden.unique_id],
            is_output_node=True,
        )

    @classmethod
    async def execute(cls, task_id: str, site: str, timeout_minutes: int) -> io.NodeOutput:
        progress = bridge.NodeProgress(cls.hidden.unique_id)
        result = await bridge.run_blocking(
            load("pipeline").fetch_task, task_id, site=site, output_dir=bridge.output_directory(),
            on_progress=progress, should_cancel=bridge.interrupted, timeout_s=timeout_minutes * 60,
            want_last_frame=True)
        return video_result(result, progress)
