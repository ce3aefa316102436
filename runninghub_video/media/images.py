"""ComfyUI IMAGE inputs -> upload-ready reference files (PNG or JPEG, never over the upload limit).

Pure: no ComfyUI, no torch import (tensors are recognised by duck typing), numpy and PIL are
imported inside functions so importing the pack stays fast.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..remote import facts
from ..core.errors import ValidationError
from ..remote.models import IMAGE

PNG_COMPRESS_LEVEL = 1  # level 1 is several times faster than PIL's default 6 and only a little larger
JPEG_BEST_QUALITY = 100
JPEG_MIN_QUALITY = 85  # below this we would rather send fewer pixels
_ESTIMATE_MARGIN = 0.9  # only attempt a full encode whose estimate is under 90 % of the limit
_SAMPLE_STRIPS = 16
_SAMPLE_ROWS = 16  # a multiple of 16 keeps JPEG blocks aligned, so the sample behaves like the image
# Our bound on a reference file's pixels (PIL itself refuses twice its 89-megapixel bomb limit): past
# it even its 8-bit decode would take gigabytes; smaller ones are scaled down while read.
MAX_FILE_PIXELS = 178_000_000
_CONVERT_BLOCK_PIXELS = 1 << 22  # an IMAGE is made 8-bit this many pixels at a time (bounded float copies)


@dataclass(frozen=True)
class EncodedImage:
    data: bytes = field(repr=False)
    filename: str
    content_type: str
    width: int
    height: int
    sha256: str  # of the pixels we were given (uint8 RGB + shape): the upload-cache key


@dataclass(frozen=True)
class Reference:
    """One sanitised reference, hashed but not yet encoded: a re-run that finds its video in the
    journal, or its upload in the cache, never pays for the encode."""
    pixels: Any = field(repr=False)  # uint8 [H,W,3]
    name: str
    sha256: str  # of the pixels (uint8 RGB + shape): the journal's and upload cache's key
    kind: str = IMAGE  # or a frame (models.FIRST_FRAME / LAST_FRAME): the field it goes into

    def encode(self) -> EncodedImage:
        return encode_one(self.pixels, name=self.name, digest=self.sha256)

    @property
    def identity(self) -> str:
        """What the request's identity counts this reference as: its pixels (never the encoded file's
        bytes, which change with the Pillow build)."""
        return self.sha256


# --- public API ----------------------------------------------------------------------------
def prepare_references(images: Sequence[Any], *, kind: str = IMAGE, name: str = "image") -> list[Reference]:
    """One sanitised, hashed reference per batch item of every IMAGE, in order (the request's
    validation has checked how many). ``None`` entries (unconnected optional inputs) are skipped;
    ``kind`` and ``name``: a frame is a reference of its own kind, named so in messages."""
    references: list[Reference] = []
    for i, value in enumerate(images, start=1):
        if value is None:
            continue
        label = f"{name} {i}" if kind == IMAGE else name
        array = to_numpy(value)
        _check_shape(array.shape, label, rank=None)
        items = array if array.ndim == 4 else array[None]
        for b in range(items.shape[0]):
            item = label if items.shape[0] == 1 else f"{label} (batch item {b + 1})"
            pixels = to_uint8_rgb(items[b], name=item)
            references.append(Reference(pixels, item, _pixel_sha256(pixels), kind))
    return references


def encode_references(images: Sequence[Any]) -> list[EncodedImage]:
    """One upload-ready file per batch item of every IMAGE, in order (see prepare_references)."""
    return [reference.encode() for reference in prepare_references(images)]


def to_uint8_rgb(array: Any, *, name: str = "image") -> Any:
    """A sanitised ``[H,W,3]`` uint8 copy of one float 0–1 image (``[H,W,C]`` or ``[1,H,W,C]``).

    NaN and ±inf become 0, values are clamped to 0–1, grey becomes RGB, RGBA is flattened over white.
    The input is never modified (it may share memory with a ComfyUI tensor). Converted a band of rows
    at a time, so a huge IMAGE never gets a float copy of its own size.
    """
    import numpy as np

    a = to_numpy(array)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    _check_shape(a.shape, name, rank=3)
    if a.dtype == np.uint8 and a.shape[2] == 3:
        return np.ascontiguousarray(a)
    height, width = a.shape[:2]
    out = np.empty((height, width, 3), dtype=np.uint8)
    rows = max(1, _CONVERT_BLOCK_PIXELS // width)
    for top in range(0, height, rows):
        out[top:top + rows] = _uint8_band(a[top:top + rows])
    return out


def _uint8_band(a: Any) -> Any:
    """:func:`to_uint8_rgb` of a band of rows (a float copy of the band only)."""
    import numpy as np

    if a.dtype == np.uint8:
        a = a.astype(np.float32) / np.float32(255)
    elif a.dtype != np.float32:
        a = a.astype(np.float32)
    # One cheap reduction tells whether any NaN/inf is present; the masking pass only runs then.
    if np.isfinite(a.sum(dtype=np.float32)):
        x = np.clip(a, 0.0, 1.0)
    else:
        x = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(x, 0.0, 1.0, out=x)
    channels = x.shape[2]
    if channels == 4:
        # Flatten over white: the upload formats we must support (JPEG, and PNG as the model reads it)
        # have no reliable alpha, and dropping alpha exposes whatever colour hides under transparent
        # pixels (often black or garbage). White matches how cut-out subjects are usually presented.
        rgb, alpha = x[..., :3], x[..., 3:4]
        np.subtract(rgb, 1.0, out=rgb)
        np.multiply(rgb, alpha, out=rgb)
        np.add(rgb, 1.0, out=rgb)
        x = rgb
    elif channels == 1:
        x = x[..., 0]
    np.multiply(x, 255.0, out=x)
    out = np.empty(x.shape, dtype=np.uint8)
    np.add(x, 0.5, out=out, casting="unsafe")  # +0.5 then truncation = round to nearest
    return out[..., None] if channels == 1 else out  # grey: broadcast to RGB by the caller's assignment


def encode_one(rgb_uint8: Any, *, name: str = "image", digest: str = "") -> EncodedImage:
    """PNG if it fits the upload limit, else the best JPEG that does; downscale only as a last resort."""
    import numpy as np
    from PIL import Image

    rgb = np.ascontiguousarray(rgb_uint8)
    if rgb.dtype != np.uint8:
        raise ValidationError(f"{name}: expected uint8 RGB pixels, got {rgb.dtype}; use to_uint8_rgb first.")
    _check_shape(rgb.shape, name, rank=3, channels=(3,))
    digest = digest or _pixel_sha256(rgb)
    image = _fit_sides(Image.fromarray(rgb, "RGB"))
    limit = facts.MAX_UPLOAD_BYTES

    sample = None
    if not _png_surely_fits(image.width, image.height, limit):
        sample = _sample_strips(image)
        png_estimate = len(_png(sample)) * image.height / sample.height
    if sample is None or png_estimate <= limit * _ESTIMATE_MARGIN:
        data = _png(image)
        if len(data) <= limit:
            return _result(data, "png", image, digest)
        if sample is None:
            sample = _sample_strips(image)

    fitted = _best_jpeg(image, sample, limit)
    if fitted is not None:
        return _result(fitted, "jpeg", image, digest)
    # Last resort: fewer pixels at the lowest quality we accept. Size is roughly proportional to area.
    estimate = len(_jpeg(sample, JPEG_MIN_QUALITY)) * image.height / sample.height
    scale = math.sqrt(limit * _ESTIMATE_MARGIN / estimate)
    while True:
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        smaller = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        data = _jpeg(smaller, JPEG_MIN_QUALITY)
        if len(data) <= limit:
            return _result(data, "jpeg", smaller, digest)
        scale *= math.sqrt(limit * _ESTIMATE_MARGIN / len(data))


def _best_jpeg(image: Any, sample: Any, limit: int) -> bytes | None:
    """The JPEG at the highest quality (JPEG_MIN_QUALITY..JPEG_BEST_QUALITY) that fits ``limit``, or None.

    A bisection on quality against the encoded size of the sample strips (cheap), scaled to the
    whole image and corrected by each full encode; usually one or two full encodes in all.
    """
    scale = image.height / sample.height
    sample_sizes: dict[int, float] = {}
    correction = 1 / _ESTIMATE_MARGIN  # until a full encode says how the sample compares

    def fits(quality: int) -> bool:
        if quality not in sample_sizes:
            sample_sizes[quality] = len(_jpeg(sample, quality)) * scale
        return sample_sizes[quality] * correction <= limit

    best: bytes | None = None
    lo, hi = JPEG_MIN_QUALITY, JPEG_BEST_QUALITY  # the answer, if any, lies in [lo, hi]
    while lo <= hi and fits(lo):
        low, high = lo, hi  # the highest quality the estimate lets through
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(middle) else (low, middle - 1)
        data = _jpeg(image, low)
        correction = len(data) / sample_sizes[low]
        if len(data) <= limit:
            best, lo = data, low + 1
        else:
            hi = low - 1
    return best


def load_image_files(paths: Iterable[str | Path]) -> list[Any]:
    """Read image files (for the CLI) as ``[1,H,W,3]`` float32 0–1 arrays, like ComfyUI IMAGEs.

    A file larger than a reference is ever sent (``facts.MAX_SIDE`` a side) is scaled down while it
    is read — JPEG by its decoder, others in 8-bit before any float copy — so a 100-megapixel photo
    costs a few hundred MB, not gigabytes; one over :data:`MAX_FILE_PIXELS` is refused unread."""
    import numpy as np
    from PIL import Image, ImageOps

    arrays = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise ValidationError(f"Reference image not found: {path}. Check the path.")
        try:
            with Image.open(path) as opened:
                _check_file_pixels(opened.size, path)
                opened.draft(opened.mode, _draft_size(opened.size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                image = ImageOps.exif_transpose(opened)  # phone photos: apply the stored rotation
                image.load()
        except Image.DecompressionBombError:
            _check_file_pixels((MAX_FILE_PIXELS + 1, 1), path)
            raise  # not reached: the check above raises
        except (OSError, ValueError) as exc:
            raise ValidationError(f"Reference image {path} could not be read ({exc}). "
                                  "Use a PNG or JPEG file.") from None
        if max(image.size) > facts.MAX_SIDE:  # in the file's own 8 bits (16-bit grey too), before any float copy
            image.thumbnail((facts.MAX_SIDE, facts.MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            grey = np.asarray(image, dtype=np.float32) / np.float32(65535)
            array = grey[..., None]
        elif image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            array = np.asarray(image.convert("RGBA"))  # 8-bit; the sanitiser takes it a band at a time
        else:
            array = np.asarray(image.convert("RGB"))
        # Route through the same sanitiser as node inputs (alpha over white, grey to RGB).
        rgb = to_uint8_rgb(array, name=str(path))
        values = rgb.astype(np.float32)[None]
        values /= np.float32(255)
        arrays.append(values)
    return arrays


def _check_file_pixels(size: tuple[int, int], path: Path) -> None:
    width, height = size
    if width * height > MAX_FILE_PIXELS:
        raise ValidationError(f"Reference image {path} is {width}x{height} pixels ({width * height / 1e6:.0f} "
                              f"megapixels): larger than the {MAX_FILE_PIXELS // 10**6} megapixels a reference file "
                              f"is read at. References are sent at most {facts.MAX_SIDE} pixels a side: scale it "
                              "down first. Nothing was uploaded or charged.")


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The smallest size the decoder may scale to that still keeps ``facts.MAX_SIDE`` on the long side."""
    scale = min(1.0, facts.MAX_SIDE / max(size))
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


# --- helpers -------------------------------------------------------------------------------
def to_numpy(value: Any) -> Any:
    """numpy view/copy of a torch tensor (any device; dtype kept, but float32 for dtypes numpy lacks such as
    bfloat16) or array-like: how IMAGE and AUDIO inputs reach numpy."""
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        tensor = value.detach().cpu()
        try:
            return tensor.numpy()
        except (TypeError, RuntimeError):  # bfloat16 and other dtypes numpy lacks
            return tensor.float().numpy()
    return np.asarray(value)


def batch_size(value: Any, name: str) -> int:
    """How many images an IMAGE input holds, from its shape only (checked)."""
    shape = tuple(getattr(value, "shape", None) or to_numpy(value).shape)
    _check_shape(shape, name, rank=None)
    return shape[0] if len(shape) == 4 else 1


def _check_shape(shape: tuple, name: str, *, rank: int | None,
                 channels: tuple[int, ...] = (1, 3, 4)) -> None:
    shape = tuple(int(s) for s in shape)
    ranks = (3, 4) if rank is None else (rank,)
    if len(shape) not in ranks:
        raise ValidationError(f"{name} has shape {list(shape)}: expected an IMAGE of shape [batch, height, "
                              "width, channels] (or [height, width, channels]).")
    height, width, chans = shape[-3:]
    if chans not in channels:
        raise ValidationError(f"{name} has {chans} channels: expected "
                              f"{' or '.join(map(str, channels))} (grey, RGB or RGBA). If the channels are "
                              "first ([B,C,H,W]), convert the image to ComfyUI's [B,H,W,C] layout.")
    if len(shape) == 4 and shape[0] == 0:
        raise ValidationError(f"{name} is an empty batch: connect at least one image.", code="image_batch_empty",
                              details={"name": name})
    if min(height, width) < facts.MIN_SIDE:
        raise ValidationError(f"{name} is {width}x{height} pixels: references must be at least "
                              f"{facts.MIN_SIDE} pixels on each side (ideally {facts.UPSCALE_TO_SIDE}+). "
                              "Use a larger image or upscale it first.", code="image_small",
                              details={"name": name, "width": width, "height": height, "minimum": facts.MIN_SIDE,
                                       "ideal": facts.UPSCALE_TO_SIDE})


def _pixel_sha256(rgb: Any) -> str:
    h = hashlib.sha256(f"rgb8:{rgb.shape[0]}x{rgb.shape[1]}:".encode())
    h.update(memoryview(rgb).cast("B"))
    return h.hexdigest()


def _fit_sides(image: Any) -> Any:
    """Keep both sides inside MIN..MAX_SIDE bounds (see facts), preserving the aspect ratio."""
    from PIL import Image

    w, h = image.size
    if max(w, h) > facts.MAX_SIDE:
        scale = facts.MAX_SIDE / max(w, h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if min(w, h) < facts.UPSCALE_TO_SIDE:
        scale = min(facts.UPSCALE_TO_SIDE / min(w, h), facts.MAX_SIDE / max(w, h))
        if scale > 1:
            size = (round(w * scale), round(h * scale))
            return image.resize(size, Image.Resampling.BICUBIC)
    return image


def _png_surely_fits(width: int, height: int, limit: int) -> bool:
    """True when even incompressible pixels fit: raw bytes plus deflate/PNG framing overhead."""
    raw = width * height * 3 + height  # one filter byte per row
    return raw + raw // 100 + 4096 <= limit


def _sample_strips(image: Any) -> Any:
    """Evenly spaced full-width strips stacked into one small image, to estimate encoded sizes."""
    from PIL import Image

    w, h = image.size
    strips = min(_SAMPLE_STRIPS, max(1, h // _SAMPLE_ROWS))
    rows = min(_SAMPLE_ROWS, h)
    step = h // strips
    sample = Image.new("RGB", (w, rows * strips))
    for k in range(strips):
        top = (k * step) // 16 * 16
        top = min(top, h - rows)
        sample.paste(image.crop((0, top, w, top + rows)), (0, k * rows))
    return sample


def _png(image: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _jpeg(image: Any, quality: int) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _result(data: bytes, kind: str, image: Any, digest: str) -> EncodedImage:
    ext = "png" if kind == "png" else "jpg"
    return EncodedImage(data=data, filename=f"ref_{digest[:12]}.{ext}", content_type=f"image/{kind}",
                        width=image.width, height=image.height, sha256=digest)
