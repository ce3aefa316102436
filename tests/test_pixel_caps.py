"""Decoded pictures are bounded in pixels: a huge reference file is scaled down while it is read
(or refused, past its limit, before anything is uploaded), a huge IMAGE is made 8-bit a band at a
time, and a huge result frame is saved scaled down (media/images.py, media/last_frame.py).

The bounds are scaled down here so the pictures stay small; the code paths are those of a
100-megapixel photo and an 8192x8192 result. Memory is read from numpy's own allocations
(tracemalloc), which is where the gigabytes went."""
from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from conftest import solid_images
from ..runninghub_video.core.errors import ValidationError
from ..runninghub_video.media import images, last_frame
from ..runninghub_video.remote import facts
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import generate


def numpy_peak(action) -> int:
    """Bytes numpy allocated at most while ``action`` ran (beyond what existed before)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_reference_file_larger_than_is_ever_sent_is_scaled_down_while_read(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(facts, "MAX_SIDE", 600)
    path = tmp_path / f"photo.{fmt.lower()}"
    Image.linear_gradient("L").resize((2400, 1600)).convert("RGB").save(path, fmt)
    loaded = []
    peak = numpy_peak(lambda: loaded.extend(images.load_image_files([path])))
    assert loaded[0].shape == (1, 400, 600, 3) and loaded[0].dtype == np.float32
    assert peak < 2400 * 1600 * 3 * 4  # never one float copy of the file's full size


def test_a_reference_file_past_the_pixel_limit_is_refused_unread(rh_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(images, "MAX_FILE_PIXELS", 1_000_000)
    path = tmp_path / "poster.png"
    Image.new("RGB", (2000, 1000)).save(path)
    with pytest.raises(ValidationError, match=r"2000x1000 pixels \(2 megapixels\).*scale it down"):
        images.load_image_files([path])
    from ..runninghub_video.cli import main

    assert main(["generate", "--image", str(path), "--prompt", "a poster"]) == 2
    assert "scale it down" in capsys.readouterr().err and rh_env.counters.requests_total == 0


def test_a_huge_image_input_is_made_8_bit_without_a_float_copy_of_its_size(monkeypatch):
    monkeypatch.setattr(images, "_CONVERT_BLOCK_PIXELS", 100_000, raising=False)
    pixels = np.random.default_rng(1).random((1500, 2000, 4), dtype=np.float32)  # RGBA, as ComfyUI hands it
    out = []
    peak = numpy_peak(lambda: out.append(images.to_uint8_rgb(pixels)))
    assert out[0].shape == (1500, 2000, 3) and out[0].dtype == np.uint8
    assert peak < pixels.nbytes // 2  # the 8-bit result and one band, not a float copy of the whole
    alpha = pixels[..., 3:]
    expected = np.clip((pixels[..., :3] - 1) * alpha + 1, 0, 1) * 255 + 0.5
    assert np.array_equal(out[0], expected.astype(np.uint8))  # the same pixels as before


def test_a_result_frame_past_the_cap_is_saved_scaled_down(rh_env, tmp_path, monkeypatch):
    monkeypatch.setattr(last_frame, "MAX_RESULT_PIXELS", 100 * 60)
    done = generate(solid_images(1), VideoRequest(prompt="a big result", duration="2", resolution="480p"),
                    output_dir=tmp_path)
    saved = last_frame.save(done.video_path)
    with Image.open(saved) as frame:
        width, height = frame.size
    assert width * height <= 100 * 60 and abs(width / height - 864 / 480) < 0.1  # 864x480, aspect kept


def test_a_last_frame_image_past_the_cap_is_never_decoded(rh_env, tmp_path, monkeypatch):
    """RunningHub's own last-frame PNG (``returnLastFrame``) of 8192x8192: the MP4's frame is used."""
    from ..runninghub_video.remote.api import RunningHubClient
    from ..runninghub_video.remote.config import load_settings

    done = generate(solid_images(1), VideoRequest(prompt="a huge png", duration="2", resolution="480p"),
                    output_dir=tmp_path)
    buffer = io.BytesIO()
    Image.new("L", (8192, 8192)).save(buffer, "PNG")
    with RunningHubClient(load_settings()) as client:
        url = client.upload(buffer.getvalue(), "frame.png", "image/png")
        saved = last_frame.save(done.video_path, client.session, url)
    with Image.open(saved) as frame:
        assert frame.size == (864, 480)
