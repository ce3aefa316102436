"""Turning ComfyUI IMAGE inputs into reference files RunningHub accepts (PNG/JPEG, ≤ 10 MB)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ..runninghub_video.remote import facts
from ..runninghub_video.core.errors import ValidationError
from ..runninghub_video.media.images import encode_one, encode_references, load_image_files, to_uint8_rgb


def flat(colour, h=320, w=480, batch=None):
    img = np.empty((h, w, len(colour)), np.float32)
    img[...] = colour
    return img if batch is None else np.repeat(img[None], batch, axis=0)


def decoded(encoded) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded.data)).convert("RGB"))


# --- sanitising ----------------------------------------------------------------------------
def test_nan_and_infinities_become_black():
    img = flat((0.5, 0.5, 0.5), 16, 16)
    img[0, 0] = (np.nan, np.inf, -np.inf)
    out = to_uint8_rgb(img)
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[1, 1].tolist() == [128, 128, 128]


def test_out_of_range_values_are_clamped():
    img = flat((0.5, 0.5, 0.5), 16, 16)
    img[0, 0] = (-3.0, 1.7, 1.0)
    assert to_uint8_rgb(img)[0, 0].tolist() == [0, 255, 255]


def test_input_tensor_is_not_modified():
    torch = pytest.importorskip("torch")
    tensor = torch.full((1, 16, 16, 4), 2.0)
    tensor[0, 0, 0, 0] = float("nan")
    before = tensor.clone()
    to_uint8_rgb(tensor)
    assert torch.equal(torch.nan_to_num(tensor), torch.nan_to_num(before))
    assert torch.isnan(tensor[0, 0, 0, 0])


def test_greyscale_is_expanded_to_rgb():
    out = to_uint8_rgb(flat((0.25,), 16, 16))
    assert out.shape == (16, 16, 3)
    assert out[3, 3].tolist() == [64, 64, 64]


def test_rgba_is_flattened_over_white():
    img = flat((1.0, 0.0, 0.0, 1.0), 16, 16)
    img[0, 0] = (1.0, 0.0, 0.0, 0.0)  # fully transparent red -> white
    img[0, 1] = (0.0, 0.0, 0.0, 0.5)  # half-transparent black -> mid grey
    out = to_uint8_rgb(img)
    assert out.shape == (16, 16, 3)
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [128, 128, 128]
    assert out[5, 5].tolist() == [255, 0, 0]


def test_torch_tensors_of_any_float_dtype_are_accepted():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        out = to_uint8_rgb(torch.full((1, 16, 16, 3), 0.5, dtype=dtype))
        assert out[0, 0].tolist() == [128, 128, 128], dtype


@pytest.mark.parametrize("shape, words", [
    ((16, 16), "shape"), ((1, 1, 16, 16, 3), "shape"), ((1, 16, 16, 2), "2 channels"),
    ((1, 3, 64, 64), "64 channels"),
])
def test_wrong_rank_or_channels_name_the_input(shape, words):
    with pytest.raises(ValidationError, match=words) as info:
        encode_references([np.zeros((1, 32, 32, 3), np.float32), np.zeros(shape, np.float32)])
    assert "image 2" in str(info.value)


def test_a_tiny_image_is_refused_with_advice():
    with pytest.raises(ValidationError, match=rf"1x1 pixels.*at least {facts.MIN_SIDE}") as info:
        encode_references([np.zeros((1, 1, 1, 3), np.float32)])
    assert "image 1" in str(info.value)


def test_a_small_image_is_upscaled_to_the_friendly_minimum():
    (ref,) = encode_references([flat((0.2, 0.4, 0.6), 20, 40, batch=1)])
    assert min(ref.width, ref.height) == facts.UPSCALE_TO_SIDE
    assert ref.width == 2 * ref.height
    assert decoded(ref).shape == (ref.height, ref.width, 3)


def test_a_huge_image_is_brought_within_the_maximum_side():
    rgb = np.full((8, facts.MAX_SIDE + 400, 3), 90, np.uint8)
    rgb = np.repeat(rgb, 4, axis=0)  # 32 x 6400
    ref = encode_one(rgb)
    assert max(ref.width, ref.height) == facts.MAX_SIDE


# --- encoding ------------------------------------------------------------------------------
def test_compressible_image_is_sent_as_lossless_png():
    img = flat((0.2, 0.4, 0.6), 512, 768)
    img[100:200, 100:300] = (1.0, 1.0, 0.0)
    (ref,) = encode_references([img[None]])
    assert ref.content_type == "image/png" and ref.filename.endswith(".png")
    assert np.array_equal(decoded(ref), to_uint8_rgb(img))


def test_large_noise_image_becomes_a_jpeg_under_the_limit():
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    ref = encode_one(noise)
    assert ref.content_type == "image/jpeg" and ref.filename.endswith(".jpg")
    assert len(ref.data) <= facts.MAX_UPLOAD_BYTES
    assert Image.open(io.BytesIO(ref.data)).format == "JPEG"


def test_a_photo_too_big_for_png_is_a_jpeg_of_the_highest_quality_that_fits(monkeypatch):
    from ..runninghub_video.media import images

    monkeypatch.setattr(facts, "MAX_UPLOAD_BYTES", 600_000)
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:1024, 0:1024] / 1024
    photo = np.stack([np.sin(xx * 20) * 0.4 + 0.5, yy, (xx + yy) / 2], -1) + rng.normal(0, 0.03, (1024, 1024, 3))
    rgb = to_uint8_rgb(photo)
    ref = encode_one(rgb)
    quality = next(q for q in range(100, 0, -1) if images._jpeg(Image.fromarray(rgb), q) == ref.data)
    assert images.JPEG_MIN_QUALITY <= quality < 100 and (ref.width, ref.height) == (1024, 1024)
    assert len(images._jpeg(Image.fromarray(rgb), quality + 1)) > facts.MAX_UPLOAD_BYTES  # one more does not fit


def test_four_big_references_all_fit_the_upload_limit():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 3072), torch.linspace(0, 1, 3072), indexing="ij")
    smooth = torch.stack([torch.sin(xx * 30) * 0.5 + 0.5, yy, (xx + yy) / 2], dim=-1)
    photo = (smooth + 0.04 * torch.randn(smooth.shape, generator=gen)).clamp(0, 1)
    batch = torch.stack([photo, photo.flip(0), photo.flip(1), 1 - photo])
    refs = encode_references([batch])
    assert len(refs) == 4
    assert all(len(r.data) <= facts.MAX_UPLOAD_BYTES for r in refs)
    assert len({r.sha256 for r in refs}) == 4


def test_references_keep_input_and_batch_order():
    colours = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
    batch = np.stack([flat(c, 64, 64) for c in colours[1:]])
    refs = encode_references([flat(colours[0], 64, 64, batch=1), None, batch])
    assert [decoded(r)[5, 5].tolist() for r in refs] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]


@pytest.mark.parametrize("sizes", [[], [3, 2], [5], [1, 1, 1, 1, 1]])
def test_reference_count_must_be_one_to_four(sizes):
    from ..runninghub_video.media.references import count_all
    from ..runninghub_video.remote.request import VideoRequest

    images = [flat((0.5, 0.5, 0.5), 16, 16, batch=n) for n in sizes]
    with pytest.raises(ValidationError, match="between 1 and 4"):
        VideoRequest("p").with_references(count_all(images)).validated()


def test_same_pixels_give_the_same_cache_key_and_filename():
    a = encode_references([flat((0.3, 0.3, 0.3), 32, 32, batch=1)])[0]
    b = encode_one(to_uint8_rgb(flat((0.3, 0.3, 0.3), 32, 32)))
    c = encode_one(to_uint8_rgb(flat((0.3, 0.3, 0.31), 32, 32)))
    d = encode_one(to_uint8_rgb(flat((0.3, 0.3, 0.3), 16, 64)))  # same bytes, other shape
    assert a.sha256 == b.sha256 and a.filename == b.filename == f"ref_{a.sha256[:12]}.png"
    assert len({a.sha256, c.sha256, d.sha256}) == 3


# --- files (CLI) ---------------------------------------------------------------------------
def test_image_files_load_as_comfyui_images(tmp_path):
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "a.png")
    Image.new("LA", (40, 30), (0, 0)).save(tmp_path / "b.png")  # transparent -> white
    Image.new("L", (20, 20), 64).save(tmp_path / "c.jpg")
    arrays = load_image_files([tmp_path / "a.png", str(tmp_path / "b.png"), tmp_path / "c.jpg"])
    assert [a.shape for a in arrays] == [(1, 30, 40, 3), (1, 30, 40, 3), (1, 20, 20, 3)]
    assert all(a.dtype == np.float32 for a in arrays)
    assert arrays[0][0, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert arrays[1][0, 0, 0].tolist() == [1.0, 1.0, 1.0]
    assert arrays[2][0, 0, 0] == pytest.approx([64 / 255] * 3, abs=2 / 255)


def test_missing_or_unreadable_image_file_names_the_path(tmp_path):
    with pytest.raises(ValidationError, match="missing.png"):
        load_image_files([tmp_path / "missing.png"])
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValidationError, match="broken.png"):
        load_image_files([tmp_path / "broken.png"])
