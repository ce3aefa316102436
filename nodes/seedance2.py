"""Seedance 2.x multimodal reference-to-video (2.0, Fast, Mini on both channels; 2.5): images,
videos and audio in; a video with sound and its last frame out. Inputs, ranges and limits come
from the model table."""
from __future__ import annotations

from comfy_api.latest import io

from . import comfy_bridge as bridge
from . import options, schema
from ..runninghub_video.remote import models
from .seedance import VideoNode, generate_video

FAMILY = tuple(m for m in models.with_mode(models.REFERENCE) if m.rule(models.VIDEO) is not None)
FIRST = models.SEEDANCE_2  # the default, as before the family grew
IMAGE_SOCKETS = ("images", "images_2", "images_3")


def _most(kind: str) -> models.MediaRule:
    return max((m.rule(kind) for m in FAMILY), key=lambda rule: rule.max_count)


# Sockets up to what the model that takes the most accepts. Those beyond 2.0's three come after
# every input of the versions before 2.5, so saved workflows keep their links' slots. The server
# takes every one of them; the frontend shows them as they are connected, up to the chosen model's
# counts (js/sockets.js, told by options.with_reference_limits).
VIDEO_SOCKETS = tuple(f"video_{i}" for i in range(1, _most(models.VIDEO).max_count + 1))
AUDIO_SOCKETS = tuple(f"audio_{i}" for i in range(1, _most(models.AUDIO).max_count + 1))
FIRST_SOCKETS = FIRST.rule(models.VIDEO).max_count  # video_1..3 and audio_1..3 where they always were


def _per_model(kind: str) -> str:
    """How many of a kind each model takes, grouped: "2.0, Fast, Mini: 9; 2.5: 30"."""
    groups: dict[int, list[str]] = {}
    for model in FAMILY:
        groups.setdefault(model.rule(kind).max_count, []).append(model.label)
    return "; ".join(f"{' / '.join(_short(labels))}: {count}" for count, labels in groups.items())


def _short(labels: list[str]) -> list[str]:
    tiers = dict.fromkeys(label.replace(" (global)", "").replace("Seedance ", "") for label in labels)
    return list(tiers)


def _limits(kind: str) -> str:
    rule = FIRST.rule(kind)
    return (f"{rule.min_seconds:g}-{rule.max_seconds:g} s each, at most {rule.max_total_seconds:g} s together "
            f"({_most(kind).max_total_seconds:g} s on 2.5)")


def _video_inputs(names: tuple[str, ...]) -> list:
    rule = FIRST.rule(models.VIDEO)
    return [io.Video.Input(name, optional=True,
                           tooltip=f"Reference video, sent as MP4 (with its trim/crop applied): at most "
                                   f"{rule.max_bytes // (1024 * 1024)} MB, {_limits(models.VIDEO)}. Videos per "
                                   f"model: {_per_model(models.VIDEO)}.")
            for name in names]


def _audio_inputs(names: tuple[str, ...]) -> list:
    return [io.Audio.Input(name, optional=True,
                           tooltip=f"Reference audio, sent as WAV: {_limits(models.AUDIO)}; needs at least one image "
                                   f"or video reference. Clips per model: {_per_model(models.AUDIO)}.")
            for name in names]


class Seedance2ReferenceToVideo(VideoNode):
    """Images, videos and audio clips plus a prompt in; a RunningHub Seedance 2.x video out."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        images, videos = FIRST.rule(models.IMAGE), FIRST.rule(models.VIDEO)
        return schema.video_node(
            node_id="RunningHubSeedance2ReferenceToVideo",
            display_name="Seedance 2.0 Reference to Video (RunningHub)",
            description=(f"Makes a video with sound with RunningHub's Seedance 2.0 (Fast, Mini, the global channel, "
                         f"or 2.5) from reference images (up to {images.max_count}; 2.5: "
                         f"{_most(models.IMAGE).max_count}), videos (up to {videos.max_count}; 2.5: "
                         f"{_most(models.VIDEO).max_count}) and audio clips and a prompt. Paid per second of video "
                         "(2.5: by tokens); queuing the same inputs again reuses the saved video instead of paying "
                         "twice."),
            inputs=[
                options.with_reference_limits(options.model_input(
                    FAMILY, FIRST, "Seedance 2.0; Fast and Mini are cheaper and quicker (no native1080p); -global: "
                                   "RunningHub's global channel; 2.5: up to 30 s and 30 images, priced by tokens."),
                    FAMILY),
                *[io.Image.Input(name, optional=True,
                                 tooltip=f"Reference images; a batch counts one per image (use Batch Images to "
                                         f"connect more), over all image inputs at most {_per_model(models.IMAGE)} "
                                         "(each fitted under 10 MB).")
                  for name in IMAGE_SOCKETS],
                *_video_inputs(VIDEO_SOCKETS[:FIRST_SOCKETS]),
                *_audio_inputs(AUDIO_SOCKETS[:FIRST_SOCKETS]),
                io.String.Input("prompt", multiline=True, default="",
                                tooltip=f"What should happen in the video (1-{FIRST.prompt_max_chars} characters). "
                                        "Refer to the references by what they show."),
                options.resolution_input(FAMILY, FIRST, "Output resolution; the price per second grows with it. "
                                                        "native1080p: Seedance 2.0 only."),
                options.duration_input(FAMILY, FIRST, "Video length in seconds (4-15; 2.5: 4-30); the price grows "
                                                      "with it."),
                options.ratio_input(FAMILY, FIRST.default("aspect_ratio"),
                                    "Width:height of the video; adaptive follows the references."),
                schema.switch("generate_audio", FIRST.default("generate_audio"), "Give the video a sound track."),
                options.seed_input("-1 lets RunningHub pick a random seed; any other value asks for that seed. "
                                   "A new seed is a new (paid) video."),
            ],
            last=(  # after the inputs of earlier versions, so their saved workflows keep their values
                schema.real_person_input(),
                io.Combo.Input("task_type", options=list(models.SEEDANCE_2_5.choices("task_type")), default="auto",
                               tooltip="Seedance 2.5 only: auto, or edit (transforms the connected reference "
                                       "video)."),
                io.Combo.Input("bitrate", options=list(models.SEEDANCE_2_5.choices("bitrate")), default="standard",
                               tooltip="Seedance 2.5 only: the output's bitrate."),
                options.duration_auto_input(FAMILY),
                *_video_inputs(VIDEO_SOCKETS[FIRST_SOCKETS:]),
                *_audio_inputs(AUDIO_SOCKETS[FIRST_SOCKETS:]),
            ),
            aliases=("seedance 2", "seedance 2.5", "seedance mini", "multimodal video", "reference to video",
                     "即梦 2.0"),
        )

    @classmethod
    async def execute(cls, model: str, prompt: str, resolution: str, duration: int, aspect_ratio: str,
                      generate_audio: bool, seed: int, site: str, timeout_minutes: int, variation: int,
                      real_person: bool = False, task_type: str = "auto", bitrate: str = "standard",
                      duration_auto: bool = False, **references) -> io.NodeOutput:
        async with bridge.node_status(cls.hidden.unique_id, site=site) as progress:
            from ..runninghub_video.media import references as counting

            images = [references.get(name) for name in IMAGE_SOCKETS]
            audios = [references.get(name) for name in AUDIO_SOCKETS]
            videos = [references.get(name) for name in VIDEO_SOCKETS]
            # a bad option or count is refused before any video is written
            request = options.build_request(model, models.REFERENCE, prompt,
                                            counting.count_all(images, videos, audios), duration=duration,
                                            resolution=resolution, aspect_ratio=aspect_ratio,
                                            generate_audio=bool(generate_audio), seed=int(seed), task_type=task_type,
                                            bitrate=bitrate, real_person=bool(real_person),
                                            duration_auto=bool(duration_auto))
            files = await bridge.run_blocking(bridge.videos_as_mp4, videos)
            try:
                return await generate_video(cls, progress, images, request, site, timeout_minutes, variation,
                                            videos=[file for file, _ in files], audios=audios)
            finally:
                for file, temporary in files:
                    if temporary:
                        file.path.unlink(missing_ok=True)
        return bridge.failed_item_output(progress)  # a batch item that failed (node_status went on)
