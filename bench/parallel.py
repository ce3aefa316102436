"""Row 5: four generate() calls in threads (four nodes in one prompt, or a CLI batch) vs one.

The emulator allows 4 concurrent tasks; every task queues 0.5 s and runs 5 s. Each set gets a
fresh state folder, and the single run uses references of a different colour, so neither set
profits from the other's upload cache or the emulator's rendered-video cache.
"""
from __future__ import annotations

import tempfile
import threading
import time

from . import Row, photo_like, settings_for, state_dir

QUEUE_S, RUN_S, TASKS = 0.5, 5.0, 4


def _batch(emu, images, count: int, out: str) -> float:
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest

    settings = settings_for(emu)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            generate([images], VideoRequest(f"bench parallel task {i} of {count}", duration="2", resolution="480p"),
                     settings=settings, output_dir=out)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with state_dir():
        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        span = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return span


def run() -> Row:
    from runninghub_video.emulator import Emulator

    with tempfile.TemporaryDirectory(prefix="rh-bench-out-") as out, \
            Emulator(queue_s=QUEUE_S, run_s=RUN_S, concurrent_limit=TASKS) as emu:
        one = _batch(emu, photo_like(1, 1024, seed=5) * 0.8, 1, out)
        four = _batch(emu, photo_like(1, 1024, seed=6), TASKS, out)
        submits = emu.counters.submits
    ratio = four / one
    return Row(f"5 parallel: {TASKS} tasks in threads vs 1", f"{four:.2f} s", f"{one:.2f} s", ratio, "≤ 1.2×",
               ratio <= 1.2, f"emulator limit {TASKS} concurrent, queue {QUEUE_S} s + run {RUN_S} s "
               f"per task, {submits} submits in all.")


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["parallel"]))
