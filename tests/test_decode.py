"""Decoding result videos into ComfyUI frames: counts, rate, colours, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from ..runninghub_video.media.decode import contact_sheet, decode_video, probe_video
from ..runninghub_video.core.errors import ValidationError

WIDTH, HEIGHT, FPS, FRAMES = 64, 48, 24, 30


def frame_colour(i: int) -> tuple[int, int, int]:
    return (8 * i, 255 - 8 * i, 40 + 4 * i)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def make_video(path) -> str:
    """A small video whose frame i is filled with frame_colour(i), lossless so colours are exact-ish."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv444p"
        for i in range(FRAMES):
            rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
            rgb[...] = frame_colour(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_all_frames_come_back_as_float_rgb_in_order(video):
    result = decode_video(video)
    assert result.frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    assert result.frames.dtype == np.float32
    assert (result.width, result.height, result.frame_count) == (WIDTH, HEIGHT, FRAMES)
    assert result.fps == pytest.approx(FPS)
    assert 0.0 <= result.frames.min() and result.frames.max() <= 1.0
    for i in (0, 7, FRAMES - 1):
        mean = result.frames[i].reshape(-1, 3).mean(axis=0)
        assert mean == pytest.approx(np.array(frame_colour(i)) / 255, abs=0.03), i


def test_max_frames_stops_early(video):
    result = decode_video(video, max_frames=5)
    assert result.frames.shape[0] == result.frame_count == 5
    assert result.frames[4].mean(axis=(0, 1)) == pytest.approx(np.array(frame_colour(4)) / 255, abs=0.03)


def test_every_nth_keeps_every_nth_frame_and_lowers_fps(video):
    result = decode_video(video, every_nth=4)
    assert result.frame_count == len(range(0, FRAMES, 4)) == 8
    assert result.fps == pytest.approx(FPS / 4)
    assert result.source_fps == pytest.approx(FPS)
    assert result.frames[2].mean(axis=(0, 1)) == pytest.approx(np.array(frame_colour(8)) / 255, abs=0.03)


def test_every_nth_and_max_frames_combine(video):
    result = decode_video(video, max_frames=3, every_nth=7)
    assert result.frame_count == 3
    assert result.frames[2].mean(axis=(0, 1)) == pytest.approx(np.array(frame_colour(14)) / 255, abs=0.03)


def test_max_frames_larger_than_the_video_returns_the_whole_video(video):
    assert decode_video(video, max_frames=1000).frame_count == FRAMES


def test_returned_array_holds_exactly_the_returned_frames(video):
    result = decode_video(video, every_nth=3)
    assert result.frames.shape == (result.frame_count, HEIGHT, WIDTH, 3)
    assert result.frames.nbytes == result.frame_count * HEIGHT * WIDTH * 3 * 4
    assert result.frames.flags.c_contiguous and result.frames.flags.writeable  # torch.from_numpy needs both


@pytest.mark.parametrize("suffix", ["mkv", "h264"])
def test_containers_without_a_stored_frame_count_decode_completely(tmp_path, suffix):
    # Matroska only has a duration; a raw H.264 stream has nothing: the array must grow, then trim.
    result = decode_video(make_video(tmp_path / f"clip.{suffix}"))
    assert result.frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    assert result.frames[-1].mean(axis=(0, 1)) == pytest.approx(np.array(frame_colour(FRAMES - 1)) / 255,
                                                                abs=0.03)


def test_probe_reads_geometry_rate_and_count_without_decoding(video):
    assert probe_video(video) == (WIDTH, HEIGHT, pytest.approx(FPS), FRAMES)


@pytest.mark.parametrize("kwargs", [{"every_nth": 0}, {"every_nth": -2}, {"max_frames": -1}])
def test_bad_frame_selection_is_refused(video, kwargs):
    with pytest.raises(ValidationError):
        decode_video(video, **kwargs)


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(ValidationError, match="nope.mp4"):
        decode_video(missing)
    with pytest.raises(ValidationError, match="nope.mp4"):
        probe_video(missing)


def test_a_file_that_is_not_a_video_names_the_path(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    with pytest.raises(ValidationError, match="notes.mp4"):
        decode_video(bogus)


def test_contact_sheet_is_a_grid_of_evenly_spaced_frames(video):
    frames = decode_video(video).frames
    sheet = contact_sheet(frames, columns=4, thumb_width=32)
    gap = 6
    assert sheet.size == (4 * 32 + 5 * gap, 2 * 24 + 3 * gap)  # 8 thumbnails, 4 per row, 64x48 -> 32x24
    first = np.asarray(sheet)[gap + 12, gap + 16] / 255
    last = np.asarray(sheet)[2 * gap + 24 + 12, 4 * gap + 3 * 32 + 16] / 255
    assert first == pytest.approx(np.array(frame_colour(0)) / 255, abs=0.04)
    assert last == pytest.approx(np.array(frame_colour(FRAMES - 1)) / 255, abs=0.04)


def test_contact_sheet_of_fewer_frames_than_slots(video):
    frames = decode_video(video, max_frames=2).frames
    assert contact_sheet(frames, columns=4, thumb_width=32).size == (2 * 32 + 3 * 6, 24 + 2 * 6)


# --- progress, cancel, memory -----------------------------------------------------------------
def test_progress_counts_every_returned_frame_against_the_expected_total(video):
    seen: list[tuple[int, int]] = []
    decode_video(video, every_nth=3, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, FRAMES // 3) for n in range(1, FRAMES // 3 + 1)]


def test_cancel_stops_decoding_between_frames(video):
    from ..runninghub_video.core.errors import Interrupted

    seen: list[int] = []
    with pytest.raises(Interrupted):
        decode_video(video, on_progress=lambda done, total: seen.append(done), should_cancel=lambda: len(seen) >= 4)
    assert seen == [1, 2, 3, 4]


def test_frames_that_do_not_fit_in_memory_are_refused_with_what_would_fit(video, monkeypatch):
    from ..runninghub_video.media import memory
    from ..runninghub_video.core.errors import ResourceError

    frame_bytes = WIDTH * HEIGHT * 3 * 4
    monkeypatch.setattr(memory, "available_bytes", lambda: int(10 * frame_bytes / memory.HEADROOM) + 1)
    with pytest.raises(ResourceError) as refused:
        decode_video(video)
    message = str(refused.value)
    assert f"Decoding {FRAMES} frames of {WIDTH}×{HEIGHT} needs" in message
    assert "Set max_frames to 10 or less, or every_nth to 3 or more" in message
    from ..runninghub_video.words import wording

    assert wording.error_line(refused.value, "zh").endswith(
        "请把“最多帧数”设为 10 或更少，或把“每隔 N 帧”设为 3 或更多（或关闭其他程序）")  # the node's Chinese widget names
    assert decode_video(video, max_frames=10).frame_count == 10  # what it suggests does fit
    assert decode_video(video, every_nth=3).frame_count == 10


def test_where_anonymous_maps_are_not_cheaper_frames_are_a_plain_numpy_array(video, monkeypatch):
    import sys

    from ..runninghub_video.media import memory

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(memory, "_madvise", None)  # not looked up yet
    array = memory.buffer((2, 4, 4, 3))
    assert array.base is None and array.dtype == np.float32
    assert decode_video(video, max_frames=3).frames.shape == (3, HEIGHT, WIDTH, 3)
    assert memory._madvise is False  # Linux's madvise is never looked up, let alone called


def test_a_size_change_mid_stream_is_scaled_to_the_first_frames_size(tmp_path):
    # A raw H.264 stream that switches resolution: the decoder re-initialises, our array keeps one geometry.
    import av

    make_video(tmp_path / "a.h264")

    with av.open(str(tmp_path / "b.h264"), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = WIDTH * 2, HEIGHT * 2, "yuv444p"
        for i in range(5):
            rgb = np.full((HEIGHT * 2, WIDTH * 2, 3), frame_colour(i), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    joined = tmp_path / "joined.h264"
    joined.write_bytes((tmp_path / "a.h264").read_bytes() + (tmp_path / "b.h264").read_bytes())
    result = decode_video(joined)
    assert result.frames.shape == (FRAMES + 5, HEIGHT, WIDTH, 3)
    assert result.frames[FRAMES + 4].mean(axis=(0, 1)) == pytest.approx(np.array(frame_colour(4)) / 255, abs=0.03)


def test_backing_a_frames_pages_keeps_what_its_neighbours_hold():
    # Frames do not start on page boundaries: backing one frame's pages must not wipe the end of the
    # previous frame or the start of the next one, which another thread may already have written.
    from ..runninghub_video.media import memory

    frames = memory.buffer((3, 37, 41, 3))
    frames[0] = 0.25
    frames[2] = 0.75
    memory.fault_in(frames[1])
    frames[1] = 0.5
    assert (frames[0] == 0.25).all() and (frames[1] == 0.5).all() and (frames[2] == 0.75).all()
