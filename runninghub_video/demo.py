"""``python -m runninghub_video demo``: the whole pipeline against the built-in emulator, no key."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from .terminal import TerminalProgress
from .remote.config import Settings
from .remote.models import FRAMES, REFERENCE, get
from .remote.request import VideoRequest

DEMO_PROMPT = "A slow dolly shot across three coloured shapes, soft morning light"


def sample_references(count: int = 3, size: int = 512):
    """Distinct, recognisable reference images as one ComfyUI-style IMAGE batch [B,H,W,3]."""
    import numpy as np

    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    colours = [(0.9, 0.2, 0.2), (0.2, 0.7, 0.3), (0.2, 0.3, 0.9), (0.9, 0.8, 0.2)]
    batch = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        base = np.array(colours[i % len(colours)], np.float32)
        shade = 0.75 + 0.25 * np.sin((x + y + i) * 6.0)[..., None]
        batch[i] = np.clip(base * shade, 0, 1)
    return batch


def run_demo(output_dir: Path, duration: str | None = None, model: str = "seedance-v1-lite",
             mode: str | None = None) -> int:
    """Reference mode on v1-lite: three images; on a 2.x model: two images, a reference clip and an
    audio clip, with sound and the last frame. Text mode: the prompt alone; frames mode: a start and
    an end image (the emulator runs at a tenth of realistic times)."""
    from .media.decode import contact_sheet, decode_video, probe_video
    from .emulator import Emulator
    from .run.pipeline import generate

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="runninghub-demo-") as state, \
            Emulator(queue_s=1.0, run_s=4.0) as emu:
        mode = mode or get(model).modes[0]
        media = _sample_media(Path(state), model) if mode == REFERENCE else {}
        if mode == FRAMES:
            start, end = sample_references(2)
            media = {"start_image": start[None], "end_image": end[None]}
        os.environ["RUNNINGHUB_STATE_DIR"] = state  # a fresh journal: the demo always runs end to end
        print(f"emulator listening on {emu.base_url} (a local stand-in for RunningHub; no key, no network)")
        progress = TerminalProgress()
        try:
            request = VideoRequest(DEMO_PROMPT, duration=duration, model=model, mode=mode,
                                   last_frame=bool(get(model).last_frame_wire))
            images = [sample_references(2 if media else 3)] if mode == REFERENCE else []
            result = generate(images, request, **media,
                              settings=Settings(api_key=emu.api_key, site="cn", base_url=emu.base_url),
                              output_dir=output_dir, on_progress=progress)
        finally:
            progress.close()
            os.environ.pop("RUNNINGHUB_STATE_DIR", None)
        charged = emu.counters.money_charged

    width, height, fps, frames = probe_video(result.video_path)
    step = max(1, frames // 8)
    sheet_path = result.video_path.with_name(result.video_path.stem + "_contact_sheet.png")
    contact_sheet(decode_video(result.video_path, every_nth=step).frames).save(sheet_path)
    print(f"video:         {result.video_path.resolve()}")
    print(f"size:          {width}x{height}, {fps:g} fps, {frames} frames "
          f"({result.video_path.stat().st_size / 1e6:.2f} MB)")
    print(f"task id:       {result.task_id} (emulated charge {charged:.2f} CNY)")
    if result.last_frame_path is not None:
        print(f"last frame:    {result.last_frame_path.resolve()}")
    print(f"contact sheet: {sheet_path.resolve()}")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def _sample_media(folder: Path, model: str) -> dict:
    """For models that take them: a 3 s reference clip and a 3 s tone, written into ``folder``."""
    from .media.clips import wav_bytes
    from .remote.models import VIDEO

    if get(model).rule(VIDEO) is None:
        return {}
    import numpy as np

    from .emulator.video import encode

    clip = folder / "reference_clip.mp4"
    clip.write_bytes(encode([(200, 120, 40)], 3, 320, 180).mp4)
    t = np.arange(3 * 22050, dtype=np.float32) / 22050
    tone = folder / "reference_tone.wav"
    tone.write_bytes(wav_bytes((0.3 * np.sin(2 * np.pi * 330 * t))[None], 22050))
    return {"videos": [clip], "audios": [tone]}
