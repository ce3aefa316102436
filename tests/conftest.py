"""Shared fixtures: an emulator on loopback and an environment that points the pack at it.

The pack is loaded as ComfyUI loads it (``load_custom_node`` in ComfyUI's nodes.py): the folder's
``__init__.py`` as one package named by the folder, whatever that name is (``comfyui-runninghub-
seedance`` has hyphens, so no ``import`` statement could name it). Each test file is imported as a
module of that package, ``<pack>.tests.test_…``, and reaches the pack's modules relatively, as
the nodes do: ``from ..runninghub_video.run import pipeline``, ``from ..nodes import routes``.
So tests and nodes share one copy of every module.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import io
import json
import os
import textwrap
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Callable, TypeVar

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
PACK_DIR = TESTS.parent
PACKAGE = PACK_DIR.name.replace(".", "_x_")  # as ComfyUI names it (it names by the whole path)

# The nodes need ComfyUI's ``comfy_api``. ComfyUI is not on PyPI: its stand-in (see
# tests/test_nodes.py for what it does and does not check) is put on the path for every test.
sys.path.insert(0, str(TESTS / "comfy_standin"))


def load_pack(folder: Path, name: str) -> ModuleType:
    """``folder`` imported as ComfyUI 0.3.64 imports a custom node folder, under ``name``."""
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def pack_module(name: str) -> ModuleType:
    """A module of the loaded pack by its dotted name inside the pack, e.g. ``runninghub_video.run.pipeline``."""
    return importlib.import_module(f"{PACKAGE}.{name}")


if PACKAGE not in sys.modules:
    load_pack(PACK_DIR, PACKAGE)


class PackTestFile(pytest.Module):
    """A test file imported as ``<pack>.tests.<file>`` (pytest would import it on its own, outside the pack)."""

    def _getobj(self):
        return pack_module(f"tests.{self.path.stem}")


def pytest_pycollect_makemodule(module_path: Path, parent):
    if module_path.parent == TESTS and module_path.name != "conftest.py":
        return PackTestFile.from_parent(parent, path=module_path)
    return None


class _PackFolderIsNoTestPackage:
    """pytest would import the pack folder's ``__init__.py`` by the folder's name, which fails for a
    hyphenated name; the pack is already loaded above, so pytest sees the folder as a plain folder."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent):
        if path == PACK_DIR:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config) -> None:
    config.pluginmanager.register(_PackFolderIsNoTestPackage(), "runninghub-pack-folder")


def _noon_here() -> None:
    """The daily budget counts from local midnight, so a test that straddled it would see "today"
    begin again halfway. The suite runs in a fixed-offset zone where it is about noon when it starts
    (children inherit it): hours from any midnight. Windows has no ``tzset``; there the risk stays."""
    if not hasattr(time, "tzset"):
        return
    ahead = 12 - time.gmtime().tm_hour  # local = UTC + ahead, -11 … +12
    os.environ["TZ"] = f"NOON{-ahead:+d}"  # POSIX writes the offset west of UTC
    time.tzset()


_noon_here()
Emulator = pack_module("runninghub_video.emulator").Emulator
waits = pack_module("runninghub_video.core.waits")

# The same waiting rules on a fast clock (tests wait for states, never for the production pace).
# The claim heartbeat and staleness keep their production values: a live claim must never look
# stale under load, and no test waits for either.
FAST = waits.Waits(cancel_check_s=0.05, query_gap_s=0.1, notice_margin_s=0.005, queued_first_gap_s=0.1,
                   queued_gap_growth_s=0.025, queued_max_gap_s=0.25, new_task_not_found_grace_s=0.5,
                   claim_wait_s=0.05, retry_pause_scale=0.02, asset_first_gap_s=0.05, asset_max_gap_s=0.1)


@pytest.fixture(autouse=True)
def fast_waits():
    """Every test runs on :data:`FAST` (a child process calls ``waits.use(FAST)`` itself)."""
    previous = waits.use(FAST)
    yield FAST
    waits.use(previous)

T = TypeVar("T")

# Reference colours the emulator paints back into the video as vertical bands.
REF_COLOURS = [(0.85, 0.15, 0.15), (0.15, 0.75, 0.25), (0.15, 0.25, 0.85), (0.9, 0.85, 0.2)]


@pytest.fixture
def emulator():
    with Emulator(queue_s=0.05, run_s=0.2) as emu:
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


def image_bytes(colour: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG",
                size: tuple[int, int] = (64, 48)) -> bytes:
    """One solid-colour image file's bytes (PNG unless ``fmt`` says otherwise), ``size`` as (w, h)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def solid_images(count: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A ComfyUI IMAGE batch [B,H,W,3] of solid, distinct colours."""
    h, w = size
    out = np.empty((count, h, w, 3), np.float32)
    for i in range(count):
        out[i] = REF_COLOURS[i]
    return out


def clip(folder: Path, seconds: int, name: str = "clip.mp4", colour=(200, 120, 40), sound: bool = False) -> Path:
    """A small MP4 of one colour (with a tone if ``sound``), written into ``folder``."""
    encode = pack_module("runninghub_video.emulator.video").encode
    path = folder / name
    path.write_bytes(encode([colour], seconds, 64, 48, sound=sound).mp4)
    return path


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> dict:
    """A ComfyUI AUDIO: waveform [1, C, T] in -1..1 and its sample rate."""
    import torch

    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    wave = np.repeat((0.3 * np.sin(2 * np.pi * 330 * t))[None], channels, axis=0)
    return {"waveform": torch.from_numpy(wave)[None], "sample_rate": rate}


_CHILD_PRELUDE = ("import json, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                  "sys.path.insert(0, sys.argv.pop(1)); from runninghub_video.core import waits; "
                  "waits.use(waits.Waits(**json.loads(sys.argv.pop(1))))\n")


def child_command(script: str, *args) -> list[str]:
    """A Python child process of a test that runs ``script`` with ``sys.argv[1:]`` = ``args``: the pack
    importable as ``runninghub_video``, waits on :data:`FAST`, and Ctrl-C raising KeyboardInterrupt as
    in a terminal (a test run started in the background hands its children SIGINT ignored)."""
    return [sys.executable, "-c", _CHILD_PRELUDE + textwrap.dedent(script), str(PACK_DIR),
            json.dumps(dataclasses.asdict(FAST)), *map(str, args)]


def cli_command(*args) -> list[str]:
    """``python -m runninghub_video *args`` as a child process of a test (see :func:`child_command`)."""
    return child_command("from runninghub_video.cli import main; sys.exit(main(sys.argv[1:]))", *args)


def solid_image_args(count: int = 1) -> str:
    """What a child rebuilds :func:`solid_images` from (it does not import this module): its colours, as JSON."""
    return json.dumps(REF_COLOURS[:count])


def wait_until(predicate, seconds: float = 120.0, what: str = "the expected state") -> None:
    """Look at ``predicate`` until it holds: tests wait for states, never for fixed times.
    ``seconds`` is a deadline against a hang, not a pace (generous: a loaded 2-core machine may take
    many seconds to start a child process)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def tasks_held_until(emulator: Emulator, seen: Callable[[], bool], work: Callable[[], T], what: str) -> T:
    """``work()`` (a run, a batch) while the emulator's tasks run until ``seen()`` holds; then every
    task made so far ends and new ones run briefly. A state the test must see cannot pass before it
    was seen, however slow the machine (a short clock could end it first)."""
    emulator.set_clock(run_s=600.0)
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(work)
        wait_until(lambda: seen() or done.done(), what=what)
        emulator.set_clock(run_s=0.3)
        emulator.end_tasks_now()
        return done.result(timeout=120)


def ending_once_running(emulator: Emulator, events: list) -> Callable:
    """An ``on_progress`` that keeps every event in ``events`` and ends the emulator's tasks once one
    shows RUNNING: a task held running (run_s 600) ends only after its line was seen running."""
    def seen(event) -> None:
        events.append(event)
        if event.state == "RUNNING":
            emulator.end_tasks_now()

    return seen


def tasks_settled(emulator: Emulator) -> bool:
    """Every task the emulator made has ended (so its charge, if any, is counted)."""
    facts = pack_module("runninghub_video.remote.facts")

    return all(task.state not in facts.PENDING_STATES for task in emulator.tasks.values())
