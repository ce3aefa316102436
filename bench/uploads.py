"""Row 2: upload preparation of 4 photo-like 4096×4096 references.

Ours: ``images.encode_references`` (PNG at a fast level when it fits, else the best JPEG under the
10 MB limit, chosen from a size estimate on sample strips). Baseline: what the official pack does,
PIL PNG at default settings for each image. Same float32 IMAGE input for both, timed from it.
"""
from __future__ import annotations

import io
import time

from . import Row, photo_like

COUNT, SIDE = 4, 4096


def _baseline(images) -> list[bytes]:
    import numpy as np
    from PIL import Image

    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(np.clip(255.0 * image, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def _psnr(data: bytes, source_uint8) -> float:
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        decoded = np.asarray(opened.convert("RGB"), dtype=np.float32)
    if decoded.shape != source_uint8.shape:
        decoded_img = Image.fromarray(decoded.astype(np.uint8)).resize(source_uint8.shape[1::-1],
                                                                      Image.Resampling.BICUBIC)
        decoded = np.asarray(decoded_img, dtype=np.float32)
    mse = float(np.mean((decoded - source_uint8.astype(np.float32)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run() -> Row:
    from runninghub_video.remote import facts
    from runninghub_video.media.images import encode_references, to_uint8_rgb

    images = photo_like(COUNT, SIDE)
    t0 = time.perf_counter()
    ours = encode_references([images])
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = _baseline(images)
    t_base = time.perf_counter() - t0
    limit = facts.MAX_UPLOAD_BYTES
    over_ours = sum(len(r.data) > limit for r in ours)
    over_base = sum(len(b) > limit for b in base)
    psnr = min(_psnr(r.data, to_uint8_rgb(images[i])) for i, r in enumerate(ours))
    kinds = sorted({f"{r.content_type.split('/')[1]} {r.width}×{r.height}" for r in ours})
    ratio = t_ours / t_base
    mb = lambda sizes: "/".join(f"{s / 2**20:.1f}" for s in sizes)  # noqa: E731
    return Row("2 upload prep: 4 × 4096² photo-like references", f"{t_ours:.2f} s, {over_ours} over 10 MB",
               f"{t_base:.2f} s, {over_base} over 10 MB", ratio, "≤ 0.5× time, 0 over limit",
               ratio <= 0.5 and over_ours == 0,
               f"ours: {', '.join(kinds)}, sizes {mb([len(r.data) for r in ours])} MiB, lowest PSNR vs the source "
               f"{psnr:.1f} dB; baseline PNG sizes {mb([len(b) for b in base])} MiB.")


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["uploads"]))
