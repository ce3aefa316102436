"""A PyAV / FFmpeg upgrade that encodes the same reference video to other bytes never pays again:
a request is known by its references' sources and how they were trimmed or re-encoded, not by the
encoder's output. Rows an earlier version journaled (keyed by the uploaded bytes) are still found.
"""
from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from ..runninghub_video.media import clips
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import generate

from conftest import clip, solid_images, tone
from .test_nodes import comfy, run  # noqa: F401  (comfy is a fixture: ComfyUI's runtime modules, faked)

OPTIONS = dict(model="seedance-2.0", prompt="same", resolution="480p", duration=4, aspect_ratio="16:9",
               generate_audio=True, seed=-1, site="cn", timeout_minutes=5, variation=0)


def as_another_build_writes_it(data: bytes) -> bytes:
    """The same streams as another FFmpeg build writes them: other bytes (here a tag of its own; the
    muxer writes its real version into ``encoder`` itself)."""
    out_buffer = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out_buffer, "w", format="mp4") as out:
        out.metadata["comment"] = "written by another FFmpeg build"
        streams = {s: out.add_stream_from_template(template=s) for s in source.streams if s.type in ("video", "audio")}
        for packet in source.demux(*streams):
            if packet.dts is not None:
                packet.stream = streams[packet.stream]
                out.mux(packet)
    assert out_buffer.getvalue() != data
    return out_buffer.getvalue()


def avi(folder: Path) -> Path:
    """A reference in a container the pack re-encodes (MPEG-4 part 2 in AVI)."""
    path = folder / "clip.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(72):
            frame = np.full((48, 64, 3), (60 + i) % 255, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("kind", ["trimmed Load Video", "frames in memory"])
def test_an_encoded_video_input_after_a_pyav_upgrade_reuses_the_saved_video(rh_env, comfy, tmp_path,  # noqa: F811
                                                                             monkeypatch, kind):
    import torch
    from comfy_api.latest import InputImpl, _video

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    trimmed = InputImpl.VideoFromFile(str(clip(tmp_path, 4)), start_time=1.0, duration=2.0)
    if kind == "frames in memory":  # Create Video: ComfyUI encodes the frames
        trimmed = InputImpl.VideoFromComponents(trimmed.get_components())

    def queue():
        return run(Seedance2ReferenceToVideo, images=torch.from_numpy(solid_images(1)), video_1=trimmed,
                   audio_1=tone(2), **OPTIONS)

    first = queue()
    before = tmp_path / "before.mp4"
    trimmed.save_to(str(before))
    encode = _video._encode_h264

    def upgraded(components, path):
        encode(components, path)
        Path(path).write_bytes(as_another_build_writes_it(Path(path).read_bytes()))

    monkeypatch.setattr(_video, "_encode_h264", upgraded)  # ComfyUI's trim now writes other bytes
    after = tmp_path / "after.mp4"
    trimmed.save_to(str(after))
    assert after.read_bytes() != before.read_bytes()
    again = queue()
    assert again.args[2] == first.args[2] and rh_env.counters.submits == 1
    assert "reused" in comfy.texts[-1][1]


def test_an_untouched_load_video_remuxed_by_another_build_reuses_the_saved_video(rh_env, comfy, tmp_path,  # noqa: F811
                                                                                  monkeypatch):
    import torch
    from comfy_api.latest import InputImpl

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    loaded = InputImpl.VideoFromFile(str(clip(tmp_path, 3)))
    save_to = type(loaded).save_to

    def queue():
        return run(Seedance2ReferenceToVideo, images=torch.from_numpy(solid_images(1)), video_1=loaded, **OPTIONS)

    first = queue()

    def remuxed_by_another_build(self, path, *args, **kwargs):
        save_to(self, path, *args, **kwargs)
        Path(path).write_bytes(as_another_build_writes_it(Path(path).read_bytes()))

    monkeypatch.setattr(type(loaded), "save_to", remuxed_by_another_build)
    assert queue().args[2] == first.args[2] and rh_env.counters.submits == 1


def test_a_cropped_load_video_is_a_new_request_when_its_crop_moves(rh_env, comfy, tmp_path):  # noqa: F811
    """Same size, another place: another picture, so another (paid) video, never the saved one."""
    import torch
    from comfy_api.latest import InputImpl

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    source = str(clip(tmp_path, 3))
    ids = [run(Seedance2ReferenceToVideo, images=torch.from_numpy(solid_images(1)), **OPTIONS,
               video_1=InputImpl.VideoFromFile(source, crop=(x, 0, 32, 32))).args[2] for x in (0, 16)]
    assert ids[0] != ids[1] and rh_env.counters.submits == 2


def test_a_re_encoded_reference_file_after_a_pyav_upgrade_reuses_the_saved_video(rh_env, tmp_path, monkeypatch):
    reference = avi(tmp_path)
    request = VideoRequest("same", model="seedance-2.0", resolution="480p", duration="4")

    def queue():
        return generate([solid_images(1)], request, videos=[reference], output_dir=tmp_path / "out", timeout_s=60)

    first = queue()
    transcode = clips.transcode_to_mp4
    monkeypatch.setattr(clips, "transcode_to_mp4", lambda path: as_another_build_writes_it(transcode(path)))
    again = queue()
    assert again.reused and again.task_id == first.task_id and rh_env.counters.submits == 1


def test_a_video_saved_by_the_previous_version_is_still_found(rh_env, tmp_path, monkeypatch):
    """The previous version knew a request by its uploaded bytes; this build encodes as it did."""
    reference = avi(tmp_path)
    request = VideoRequest("same", model="seedance-2.0", resolution="480p", duration="4")

    def queue():
        return generate([solid_images(1)], request, videos=[reference], output_dir=tmp_path / "out", timeout_s=60)

    with monkeypatch.context() as previous_version:
        previous_version.setattr(clips.MediaReference, "identity", property(lambda ref: ref.sha256))
        first = queue()
    again = queue()
    assert again.reused and again.task_id == first.task_id and rh_env.counters.submits == 1


def test_a_reference_sound_decoded_by_another_build_keeps_its_identity(tmp_path, monkeypatch):
    sound = clip(tmp_path, 3, "a.m4a", sound=True)  # AAC: decoded to WAV before the upload
    first = clips.audio_from_file(sound)
    decode = clips.decode_audio
    monkeypatch.setattr(clips, "decode_audio", lambda path: ((lambda s, r: (s * 0.999, r))(*decode(path))))
    again = clips.audio_from_file(sound)
    assert again.data != first.data and again.identity == first.identity


def test_a_load_video_source_is_read_once_while_its_size_and_time_stay_and_again_once_they_change(
        comfy, tmp_path):  # noqa: F811
    """A source of several GB trimmed to 5 s is hashed on its first queue only (core/digests.py)."""
    import os

    from comfy_api.latest import InputImpl

    from ..nodes import comfy_bridge as bridge

    source = clip(tmp_path, 3)
    stat = source.stat()

    def identity() -> str:
        return bridge.video_source(InputImpl.VideoFromFile(str(source), start_time=1.0, duration=1.0))

    def rewrite(data: bytes, mtime_ns: int) -> None:
        source.write_bytes(data)
        os.utime(source, ns=(stat.st_atime_ns, mtime_ns))

    first = identity()
    data = source.read_bytes()
    rewrite(data[:-1] + bytes([data[-1] ^ 1]), stat.st_mtime_ns)  # other bytes, same size and time
    assert identity() == first  # not read again
    rewrite(data[:-1] + bytes([data[-1] ^ 1]), stat.st_mtime_ns + 10**9)  # saved again a second later
    moved = identity()
    assert moved != first
    rewrite(data + b"\0", stat.st_mtime_ns + 10**9)  # longer, same time
    assert identity() not in (first, moved)


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_video_whose_crop_is_private_counts_by_its_source_only_at_the_files_own_size(
        comfy, tmp_path, in_memory):  # noqa: F811
    """A ComfyUI whose VideoFromFile hides its crop: only its size tells, read from the file (or BytesIO)."""
    from ..nodes import comfy_bridge as bridge

    path = clip(tmp_path, 3)  # 64×48

    class VideoFromFile:  # ComfyUI's type by name, without the crop attribute this pack reads
        def __init__(self, size: tuple[int, int]) -> None:
            self.size = size

        def get_stream_source(self):
            return io.BytesIO(path.read_bytes()) if in_memory else str(path)

        def get_active_trim_window(self) -> tuple[float, float]:
            return 0.0, 0.0

        def get_dimensions(self) -> tuple[int, int]:
            return self.size

    whole, cropped = bridge.video_source(VideoFromFile((64, 48))), bridge.video_source(VideoFromFile((32, 32)))
    assert whole and cropped == ""  # a crop it cannot place: the written bytes identify the reference
