"""Benchmarks for issue 5: our code against a baseline, in the same run, on the emulator over loopback.

``python -m bench`` runs every benchmark and writes ``bench/results.md``; ``python -m bench decode``
runs one. Each module has ``run()`` returning one :class:`Row` (or a list of rows). These are
measurements, not tests: nothing here asserts a timing.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("polling", "uploads", "upload_cache", "decode", "parallel", "startup", "batch")


@dataclass
class Row:
    name: str
    ours: str
    baseline: str
    ratio: float | None  # ours / baseline (lower is better unless the row says otherwise)
    target: str
    met: bool | None  # None: reported, no target
    note: str = ""

    def cells(self) -> list[str]:
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}×"
        met = "—" if self.met is None else ("yes" if self.met else "NO")
        return [self.name, self.ours, self.baseline, ratio, self.target, met]


HEADER = ["row", "ours", "baseline", "ratio", "target", "met?"]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    table = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


@contextlib.contextmanager
def state_dir(prefix: str = "rh-bench-") -> Iterator[Path]:
    """A fresh RUNNINGHUB_STATE_DIR (journal, upload cache) for the duration of the block."""
    previous = os.environ.get("RUNNINGHUB_STATE_DIR")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ["RUNNINGHUB_STATE_DIR"] = tmp
        try:
            yield Path(tmp)
        finally:
            if previous is None:
                os.environ.pop("RUNNINGHUB_STATE_DIR", None)
            else:
                os.environ["RUNNINGHUB_STATE_DIR"] = previous


def settings_for(emu):
    from runninghub_video.remote.config import Settings

    return Settings(api_key=emu.api_key, site="cn", base_url=emu.base_url)


def photo_like(count: int, size: int, seed: int = 0):
    """``[count,size,size,3]`` float32 images: smooth colour gradients plus sensor-like noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    noise = rng.standard_normal((size, size, 3), dtype=np.float32) * np.float32(0.025)
    out = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        x, y = axis[None, :], axis[:, None]
        out[i, ..., 0] = 0.5 + 0.35 * np.sin(5.0 * x + 2.0 * y + i)
        out[i, ..., 1] = 0.5 + 0.35 * np.cos(3.0 * y - 4.0 * x + 2 * i)
        out[i, ..., 2] = 0.45 + 0.3 * np.sin(4.0 * (x + y) + 0.5 * i)
        out[i] += np.roll(noise, 97 * i, axis=(0, 1))  # same texture statistics, different pixels
    np.clip(out, 0.0, 1.0, out=out)
    return out
