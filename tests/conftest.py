"""Shared fixtures: an emulator on loopback and an environment that points the pack at it."""
from __future__ import annotations

import numpy as np
import pytest

from runninghub_video.emulator import Emulator

# Reference colours the emulator paints back into the video as vertical bands.
REF_COLOURS = [(0.85, 0.15, 0.15), (0.15, 0.75, 0.25), (0.15, 0.25, 0.85), (0.9, 0.85, 0.2)]


@pytest.fixture
def emulator():
    with Emulator(queue_s=0.2, run_s=0.5) as emu:
        yield emu


@pytest.fixture
def rh_env(emulator, tmp_path, monkeypatch):
    """The pack configured for the emulator, with its state in a fresh folder."""
    for name in ("RUNNINGHUB_API_KEY_AI", "RUNNINGHUB_SITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNNINGHUB_BASE_URL", emulator.base_url)
    monkeypatch.setenv("RUNNINGHUB_API_KEY", emulator.api_key)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    return emulator


def solid_images(count: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A ComfyUI IMAGE batch [B,H,W,3] of solid, distinct colours."""
    h, w = size
    out = np.empty((count, h, w, 3), np.float32)
    for i in range(count):
        out[i] = REF_COLOURS[i]
    return out
