"""Seedance 2.0 (and 2.0 Fast) multimodal reference-to-video: images, videos and audio in; a video
with sound and its last frame out. Inputs, ranges and limits come from the model table."""
from __future__ import annotations

from comfy_api.latest import io

from . import comfy_bridge as bridge
from . import schema
from ..runninghub_video.remote import models
from ..runninghub_video.remote import request as client_request
from .seedance import video_result

FAMILY = tuple(m for m in models.MODELS.values() if m.rule(models.VIDEO) is not None)
FIRST = FAMILY[0]
IMAGE_SOCKETS = ("images", "images_2", "images_3")
VIDEO_SOCKETS = tuple(f"video_{i}" for i in range(1, FIRST.rule(models.VIDEO).max_count + 1))
AUDIO_SOCKETS = tuple(f"audio_{i}" for i in range(1, FIRST.rule(models.AUDIO).max_count + 1))


def _limits(kind: str) -> str:
    rule = FIRST.rule(kind)
    return f"{rule.min_seconds:g}-{rule.max_seconds:g} s each, at most {rule.max_total_seconds:g} s together"


def _seed_input() -> io.Int.Input:
    """-1 = random on RunningHub. The after-generate control starts at "fixed" (js/runninghub.js sets
    it for frontends that ignore the schema's default), so queuing again reuses the video instead of paying."""
    option = FIRST.option("seed")
    fixed = getattr(getattr(io, "ControlAfterGenerate", None), "fixed", True)
    return io.Int.Input("seed", default=option.default, min=option.minimum, max=option.maximum,
                        control_after_generate=fixed,
                        tooltip="-1 lets RunningHub pick a random seed; any other value asks for that seed. "
                                "A new seed is a new (paid) video.")


class Seedance2ReferenceToVideo(io.ComfyNode):
    """Up to 9 images, 3 videos and 3 audio clips plus a prompt in; a RunningHub Seedance 2.0 video out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        images, videos = FIRST.rule(models.IMAGE), FIRST.rule(models.VIDEO)
        durations = FIRST.choices("duration")
        return schema.video_node(
            node_id="RunningHubSeedance2ReferenceToVideo",
            display_name="Seedance 2.0 Reference to Video (RunningHub)",
            description=(f"Makes a video with sound with RunningHub's Seedance 2.0 (or 2.0 Fast) from reference "
                         f"images (up to {images.max_count}), videos (up to {videos.max_count}) and audio clips "
                         "and a prompt. Paid per second of video; queuing the same inputs again reuses the saved "
                         "video instead of paying twice."),
            inputs=[
                io.Combo.Input("model", options=[m.id for m in FAMILY], default=FIRST.id,
                               tooltip="Seedance 2.0, or 2.0 Fast (cheaper and quicker; no native1080p)."),
                *[io.Image.Input(name, optional=True,
                                 tooltip=f"Reference images; a batch counts one per image, at most "
                                         f"{images.max_count} over all image inputs (each fitted under 10 MB).")
                  for name in IMAGE_SOCKETS],
                *[io.Video.Input(name, optional=True,
                                 tooltip=f"Reference video, sent as MP4 (with its trim/crop applied): at most "
                                         f"{videos.max_bytes // (1024 * 1024)} MB, {_limits(models.VIDEO)}.")
                  for name in VIDEO_SOCKETS],
                *[io.Audio.Input(name, optional=True,
                                 tooltip=f"Reference audio, sent as WAV: {_limits(models.AUDIO)}; needs at least "
                                         "one image or video reference.")
                  for name in AUDIO_SOCKETS],
                io.String.Input("prompt", multiline=True, default="",
                                tooltip=f"What should happen in the video (1-{FIRST.prompt_max_chars} characters). "
                                        "Refer to the references by what they show."),
                io.Combo.Input("resolution", options=list(models.all_choices("resolution", FAMILY)),
                               default=FIRST.default("resolution"),
                               tooltip="Output resolution; the price per second grows with it. native1080p: "
                                       "Seedance 2.0 only."),
                io.Int.Input("duration", default=int(FIRST.default("duration")), min=int(durations[0]),
                             max=int(durations[-1]), step=1, display_mode=io.NumberDisplay.slider,
                             tooltip=f"Video length in seconds ({durations[0]}-{durations[-1]}); the price grows "
                                     "with it."),
                io.Combo.Input("aspect_ratio", options=list(FIRST.choices("aspect_ratio")),
                               default=FIRST.default("aspect_ratio"),
                               tooltip="Width:height of the video; adaptive follows the references."),
                io.Boolean.Input("generate_audio", default=FIRST.default("generate_audio"),
                                 tooltip="Give the video a sound track."),
                _seed_input(),
            ],
            aliases=("seedance 2", "multimodal video", "reference to video", "即梦 2.0"),
            last=(schema.real_person_input(),),
        )

    @classmethod
    async def execute(cls, model: str, prompt: str, resolution: str, duration: int, aspect_ratio: str,
                      generate_audio: bool, seed: int, site: str, timeout_minutes: int, variation: int,
                      real_person: bool = False, **references) -> io.NodeOutput:
        async with bridge.node_status(cls.hidden.unique_id, site=site) as progress:
            request = client_request.VideoRequest(prompt=prompt, model=model, duration=str(duration),
                                                  resolution=resolution, aspect_ratio=aspect_ratio,
                                                  generate_audio=bool(generate_audio), seed=int(seed),
                                                  last_frame=True, real_person=bool(real_person))
            request = request.validated()  # a bad option is refused before any video is written
            images = [references.get(name) for name in IMAGE_SOCKETS]
            audios = [references.get(name) for name in AUDIO_SOCKETS]
            from ..runninghub_video.run import pipeline

            files = await bridge.run_blocking(bridge.videos_as_mp4, [references.get(n) for n in VIDEO_SOCKETS])
            try:
                result = await bridge.run_blocking(
                    pipeline.generate, images, request, videos=[path for path, _ in files], audios=audios,
                    site=site, output_dir=bridge.output_directory(), on_progress=progress,
                    should_cancel=bridge.interrupted, timeout_s=timeout_minutes * 60, variation=variation,
                    batch=progress.batch_tag(f"{request.spec.label} · node {cls.hidden.unique_id}"))
            finally:
                for path, temporary in files:
                    if temporary:
                        path.unlink(missing_ok=True)
            return video_result(result, progress)
