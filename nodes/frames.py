"""A video (ours or any VIDEO / MP4) as an IMAGE batch, for further work inside the graph."""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from . import comfy_bridge as bridge
from . import schema
from ..runninghub_video.core import errors
from ..runninghub_video.words import wording


class VideoToFrames(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RunningHubVideoToFrames",
            display_name="RunningHub Video to Frames",
            category=schema.CATEGORY,
            description=("Decodes a video into an IMAGE batch (float32 RGB, 0-1) plus its frame rate. "
                         "A trim or crop set on the VIDEO (newer Load Video) is applied. A 5 s 720p result "
                         "is ~120 frames and ~1.3 GB of memory: use max_frames or every_nth to take less."),
            inputs=[
                io.Video.Input("video", optional=True,
                               tooltip="A VIDEO, e.g. from the Seedance node or Load Video (its trim and crop "
                                       "are applied). Wins over video_path when both are given."),
                io.String.Input("video_path", optional=True, default="",
                                tooltip="Path of an MP4 to read when no VIDEO is connected (e.g. the Seedance "
                                        "node's video_path output)."),
                io.Int.Input("max_frames", default=0, min=0, max=100000,
                             tooltip="Stop after this many frames (0 = all)."),
                io.Int.Input("every_nth", default=1, min=1, max=1000,
                             tooltip="Keep every n-th frame (1 = all); the fps output is divided to match."),
            ],
            outputs=[
                io.Image.Output("images", display_name="images",
                                tooltip="The frames as an IMAGE batch [frames, height, width, 3]."),
                io.Float.Output("fps", display_name="fps",
                                tooltip="Frame rate of the returned frames (the file's rate / every_nth); "
                                        "feed it to Create Video to keep the real speed."),
                io.Int.Output("frame_count", display_name="frame_count",
                              tooltip="Number of frames returned."),
                io.Audio.Output("audio", display_name="audio",
                                tooltip="The clip's sound as AUDIO (cut to the frames returned), or nothing "
                                        "when the clip is silent; feed it to Create Video with the frames."),
            ],
            hidden=[io.Hidden.unique_id],
            **schema.search_aliases("video to images", "extract frames", "decode video", "视频转帧"),
        )

    @classmethod
    async def execute(cls, max_frames: int, every_nth: int, video=None, video_path: str = "") -> io.NodeOutput:
        async with bridge.node_status(cls.hidden.unique_id, paid=False) as progress:
            if video is not None:
                direct = await bridge.run_blocking(bridge.unedited_file_of, video)
                if direct is None:  # trimmed, cropped or in memory: ComfyUI applies its own edits
                    return await cls._from_components(video, max_frames, every_nth, progress)
                path, temporary = direct
            elif (video_path or "").strip():
                path, temporary = Path(video_path.strip().strip('"')).expanduser(), False
            else:
                raise errors.ValidationError("Connect a VIDEO or give a video_path to read frames from.",
                                             code="frames_source")
            return await cls._from_file(path, temporary, max_frames, every_nth, progress)

    @classmethod
    async def _from_file(cls, path: Path, temporary: bool, max_frames: int, every_nth: int,
                         progress: bridge.NodeProgress) -> io.NodeOutput:
        from ..runninghub_video.media import clips, decode

        try:
            decoded = await bridge.run_blocking(
                decode.decode_video, path, max_frames=max_frames, every_nth=every_nth,
                should_cancel=bridge.interrupted, on_progress=lambda done, total: cls._decoding(progress, done, total))
            seconds = decoded.frame_count / decoded.fps if max_frames and decoded.fps else None
            sound = await bridge.run_blocking(clips.audio_track, path, seconds)
        finally:
            if temporary:
                path.unlink(missing_ok=True)
        import torch

        progress.text(wording.frames_done(decoded.frame_count, decoded.fps, progress.lang), kind="done")
        audio = None if sound is None else {"waveform": torch.from_numpy(sound[0])[None], "sample_rate": sound[1]}
        return io.NodeOutput(torch.from_numpy(decoded.frames), float(decoded.fps), int(decoded.frame_count), audio)

    @staticmethod
    def _decoding(progress: bridge.NodeProgress, done: int, total: int) -> None:
        """Each decoded frame moves the bar; the line is rewritten every tenth frame."""
        if total:
            progress.bar(min(done, total) / total)
        if done == 1 or done % 10 == 0:
            progress.text(wording.decoding(done, total, progress.lang))

    @classmethod
    async def _from_components(cls, video, max_frames: int, every_nth: int,
                               progress: bridge.NodeProgress) -> io.NodeOutput:
        """ComfyUI decodes the VIDEO as it is (trim and crop applied); every_nth / max_frames follow."""
        if max_frames < 0 or every_nth < 1:
            raise errors.ValidationError("max_frames must be ≥ 0 and every_nth ≥ 1.")
        progress.text(wording.say("decoding_edited", progress.lang))
        components = await bridge.run_blocking(video.get_components)
        if bridge.interrupted():
            raise errors.Interrupted("Cancelled while ComfyUI decoded the video.")
        images = components.images[::every_nth]
        if max_frames:
            images = images[:max_frames]
        if len(images) == 0:
            raise errors.ValidationError("The VIDEO has no frames in its trim window.", code="frames_trimmed")
        fps = float(components.frame_rate) / every_nth
        audio = components.audio
        if audio is not None and max_frames:  # cut to the frames returned, as for a file
            rate = int(audio["sample_rate"])
            audio = {"waveform": audio["waveform"][..., :round(len(images) / fps * rate)], "sample_rate": rate}
        progress.text(wording.frames_done(len(images), fps, progress.lang), kind="done")
        return io.NodeOutput(images.contiguous(), fps, int(len(images)), audio)
