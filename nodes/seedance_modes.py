"""Seedance from a prompt alone (text mode) and from a start image with an optional end image
(frames mode): 1.5 Pro and the 2.0 tiers on both channels. The same outputs and common inputs as
the reference nodes; the choices come from the model table."""
from __future__ import annotations

from comfy_api.latest import io

from . import options, schema
from ..runninghub_video.remote import models
from .seedance import VideoNode, run_video

TEXT_MODELS = models.with_mode(models.TEXT)
FRAMES_MODELS = models.with_mode(models.FRAMES)
DEFAULT = models.SEEDANCE_2
MODEL_TOOLTIP = ("Seedance 2.0 (Fast and Mini: cheaper and quicker; -global: RunningHub's global channel), or 1.5 Pro "
                 "(up to 12 s, cheaper; Fast: 720p and 1080p only).")


def _shared_inputs(family, ratio_default: str, ratio_tooltip: str) -> list:
    """Resolution, duration, aspect ratio, sound, seed and camera: the options both modes share."""
    return [
        options.resolution_input(family, DEFAULT, "Output resolution; the price per second grows with it. "
                                                  "native1080p: Seedance 2.0 only; 480p: not on 1.5 Pro Fast."),
        options.duration_input(family, DEFAULT, "Video length in seconds (2.0: 4-15; 1.5 Pro: 4-12); the price "
                                                "grows with it."),
        options.ratio_input(family, ratio_default, ratio_tooltip),
        schema.switch("generate_audio", True, "Give the video a sound track (on 1.5 Pro it doubles the price)."),
        options.seed_input("Seedance 2.0 only: -1 lets RunningHub pick a random seed; any other value asks for that "
                           "seed. A new seed is a new (paid) video."),
        schema.switch("camera_fixed", False, "Seedance 1.5 Pro only: keep the camera still (no pans or zooms)."),
    ]


class SeedanceTextToVideo(VideoNode):
    """A prompt in; a RunningHub Seedance video out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return schema.video_node(
            node_id="RunningHubSeedanceTextToVideo",
            display_name="Seedance Text to Video (RunningHub)",
            description=("Makes a video from a prompt alone with RunningHub's Seedance 2.0 (Fast, Mini, global) or "
                         "1.5 Pro. Paid per second of video; queuing the same inputs again reuses the saved video "
                         "instead of paying twice."),
            inputs=[
                options.model_input(TEXT_MODELS, DEFAULT, MODEL_TOOLTIP),
                io.String.Input("prompt", multiline=True, default="",
                                tooltip=f"What should happen in the video (1-{DEFAULT.prompt_max_chars} characters; "
                                        "1.5 Pro: 5000)."),
                *_shared_inputs(TEXT_MODELS, "16:9", "Width:height of the video (adaptive: Seedance 2.0 only)."),
                schema.switch("web_search", False,
                              "Seedance 2.0 only: let the model search the web for what the prompt names."),
            ],
            aliases=("seedance", "text to video", "t2v", "seedance 1.5", "即梦 文生视频"),
            last=(options.duration_auto_input(TEXT_MODELS),),  # after the inputs of earlier versions
        )

    @classmethod
    async def execute(cls, model: str, prompt: str, resolution: str, duration: int, aspect_ratio: str,
                      generate_audio: bool, seed: int, camera_fixed: bool, web_search: bool, site: str,
                      timeout_minutes: int, variation: int, duration_auto: bool = False) -> io.NodeOutput:
        def request():
            return options.build_request(model, models.TEXT, prompt, {}, duration=duration, resolution=resolution,
                                         aspect_ratio=aspect_ratio, generate_audio=bool(generate_audio),
                                         seed=int(seed), camera_fixed=bool(camera_fixed), web_search=bool(web_search),
                                         duration_auto=bool(duration_auto))
        return await run_video(cls, request, site, timeout_minutes, variation)


class SeedanceFramesToVideo(VideoNode):
    """A start image (and an optional end image) in; a RunningHub Seedance video between them out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return schema.video_node(
            node_id="RunningHubSeedanceFramesToVideo",
            display_name="Seedance First/Last Frame to Video (RunningHub)",
            description=("Makes a video that starts on an image, and ends on another if one is connected, with "
                         "RunningHub's Seedance 2.0 (Fast, Mini, global) or 1.5 Pro. Paid per second of video; "
                         "queuing the same inputs again reuses the saved video instead of paying twice."),
            inputs=[
                options.model_input(FRAMES_MODELS, DEFAULT, MODEL_TOOLTIP),
                io.Image.Input("start_image", tooltip="The video's first frame (one image; fitted under 10 MB)."),
                io.Image.Input("end_image", optional=True,
                               tooltip="Optional: the video's last frame (one image). Connect the last_frame output "
                                       "of another clip's node to the next start_image to chain clips."),
                io.String.Input("prompt", multiline=True, default="",
                                tooltip="What should happen between the frames (optional on Seedance 2.0; required "
                                        "on 1.5 Pro, at most 5000 characters)."),
                *_shared_inputs(FRAMES_MODELS, "adaptive", "Width:height of the video; adaptive follows the start "
                                                           "image."),
            ],
            aliases=("seedance", "first last frame", "start end frame", "image to video", "i2v", "即梦 首尾帧"),
            last=(schema.real_person_input(),  # Seedance 2.x; 1.5 Pro refuses it before upload
                  options.duration_auto_input(FRAMES_MODELS)),
        )

    @classmethod
    async def execute(cls, model: str, start_image, prompt: str, resolution: str, duration: int, aspect_ratio: str,
                      generate_audio: bool, seed: int, camera_fixed: bool, site: str, timeout_minutes: int,
                      variation: int, real_person: bool = False, duration_auto: bool = False,
                      end_image=None) -> io.NodeOutput:
        from ..runninghub_video.media import references as counting

        def request():
            return options.build_request(model, models.FRAMES, prompt,
                                         counting.count_all(start_image=start_image, end_image=end_image),
                                         duration=duration, resolution=resolution, aspect_ratio=aspect_ratio,
                                         generate_audio=bool(generate_audio), seed=int(seed),
                                         camera_fixed=bool(camera_fixed), real_person=bool(real_person),
                                         duration_auto=bool(duration_auto))
        return await run_video(cls, request, site, timeout_minutes, variation, start_image=start_image,
                               end_image=end_image)
