"""Row 3: re-running a graph uploads nothing while the earlier upload URLs are still valid.

Baseline: the first run (an empty cache), i.e. what every run costs without a cache. The re-run
changes ``variation`` so it really submits a new task (an identical re-run is answered from the
journal without any request at all, which we also check). Bytes from the emulator's counters.
"""
from __future__ import annotations

import tempfile
import time

from . import Row, photo_like, settings_for, state_dir

COUNT, SIDE = 4, 1024


def run() -> Row:
    from runninghub_video.emulator import Emulator
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest

    images = photo_like(COUNT, SIDE, seed=3)
    request = VideoRequest("bench upload cache", duration="2", resolution="480p")
    with state_dir(), tempfile.TemporaryDirectory(prefix="rh-bench-out-") as out, \
            Emulator(queue_s=0.2, run_s=0.5) as emu:
        settings = settings_for(emu)
        spans = []
        snapshots = [emu.counters.snapshot()]
        for variation in (0, 1, 1):  # first run, re-run of an edited graph, identical re-run
            t0 = time.perf_counter()
            result = generate([images], request, settings=settings, output_dir=out, variation=variation)
            spans.append(time.perf_counter() - t0)
            snapshots.append(emu.counters.snapshot())
    delta = [{k: b[k] - a[k] for k in a} for a, b in zip(snapshots, snapshots[1:])]
    first, again, same = delta
    ratio = again["upload_bytes"] / first["upload_bytes"]
    return Row("3 upload cache: re-run with the same references", f"{again['upload_bytes']} B",
               f"{first['upload_bytes'] / 1e6:.1f} MB", ratio, "0 bytes", again["upload_bytes"] == 0,
               f"{COUNT} references of {SIDE}²; first run {first['uploads']} uploads in {spans[0]:.2f} s, "
               f"re-run (new task) {again['uploads']} uploads, {again['submits']} submit, {spans[1]:.2f} s; "
               f"identical re-run: {same['requests_total']} requests (journal reuse, "
               f"reused={result.reused}), {spans[2]:.2f} s.")


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["upload_cache"]))
