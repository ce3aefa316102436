"""Several nodes in one prompt run at once but never exceed the account's concurrentLimit."""
from __future__ import annotations

import threading

from ..runninghub_video.core.events import ProgressEvent
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.words.wording import describe

from conftest import solid_images, wait_until


def test_four_runs_with_a_limit_of_two_keep_two_tasks_in_flight(rh_env, tmp_path):
    rh_env.concurrent_limit = 2
    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # the first two run until the other two wait, however slow the machine
    waiting: list[str] = []
    results: dict[int, object] = {}

    def one(i: int) -> None:
        def on_progress(event: ProgressEvent) -> None:
            if event.phase == "slot":
                waiting.append(describe(event))
        results[i] = generate([solid_images(1)], VideoRequest(f"parallel {i}", duration="2", resolution="480p"),
                              output_dir=tmp_path, on_progress=on_progress)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(waiting) == 2, what="two runs waiting for a free slot")
    rh_env.set_clock(run_s=0.3)
    rh_env.end_tasks_now()
    for t in threads:
        t.join(60)
    assert len(results) == 4 and all(r.video_path.is_file() for r in results.values())
    assert waiting.count("waiting for a free slot") == 2
    spans = [(t.created, t.end) for t in rh_env.tasks.values()]
    most_at_once = max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)
    assert most_at_once <= 2
    assert rh_env.counters.submits == 4
