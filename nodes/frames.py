"""A video (ours or any VIDEO / MP4) as an IMAGE batch, for further work inside the graph."""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from . import comfy_bridge as bridge
from .client import errors, load
from .seedance import CATEGORY


class VideoToFrames(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RunningHubVideoToFrames",
            display_name="RunningHub Video to Frames",
            category=CATEGORY,
            description=("Decodes a video into an IMAGE batch (float32 RGB, 0-1) plus its frame rate. "
                         "A 5 s 720p result is ~120 frames and ~1.3 GB of memory: use max_frames or "
                         "every_nth to take less."),
            inputs=[
                io.Video.Input("video", optional=True,
                               tooltip="A VIDEO, e.g. from the Seedance node. Wins over video_path when both "
                                       "are given."),
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
        )

    @classmethod
    async def execute(cls, max_frames: int, every_nth: int, video=None, video_path: str = "") -> io.NodeOutput:
        if video is not None:
            path, temporary = bridge.video_file_of(video)
        elif (video_path or "").strip():
            path, temporary = Path(video_path.strip().strip('"')).expanduser(), False
        else:
            raise errors.ValidationError("Connect a VIDEO or give a video_path to read frames from.")
        try:
            decoded = await bridge.run_blocking(load("decode").decode_video, path, max_frames=max_frames,
                                                every_nth=every_nth)
            seconds = decoded.frame_count / decoded.fps if max_frames and decoded.fps else None
            sound = await bridge.run_blocking(load("media").audio_track, path, seconds)
        finally:
            if temporary:
                path.unlink(missing_ok=True)
        import torch

        audio = None if sound is None else {"waveform": torch.from_numpy(sound[0])[None], "sample_rate": sound[1]}
        return io.NodeOutput(torch.from_numpy(decoded.frames), float(decoded.fps), int(decoded.frame_count), audio)
