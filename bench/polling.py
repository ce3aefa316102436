"""Row 1: waiting for a task. Added latency after it finishes, queries spent, and how fast the ETA learns.

Ours: ``polling.wait_for_task`` with the estimate the pipeline would have. Baseline: the official
pack's loop, sleep 5 s before every query. Both wait for the same kinds of task at once, each in its
own thread against one emulator (waiting is idle time): every task queues QUEUE_S (queueing about
as long as the run, as on RunningHub) and then runs 0.25×, 1× or 4× the estimate of ESTIMATE_S, or
ESTIMATE_S with no history at all (the prior for 480p × 5 s is 36 s). Each case runs at PHASES
offsets so the fixed 5 s grid is sampled fairly. Latency = our return moment minus the emulator's
SUCCESS moment (one monotonic clock: the emulator runs in this process).

The ETA rows need no waiting: they feed a journal the finished tasks of a kind whose run time
triples, and compare our estimate with the median of the last 20 runs (what this pack used before).
"""
from __future__ import annotations

import statistics
import threading
import time

from . import Row, settings_for, state_dir

ESTIMATE_S = 20.0
QUEUE_S = 20.0
PHASES = tuple(i * 0.55 for i in range(8))  # spreads finish times across the 5 s grid
CASES = {"0.25×": 0.25, "1×": 1.0, "4×": 4.0, "no history": None}
BASELINE_SLEEP_S = 5.0
HISTORY = 10  # finished tasks behind the estimate


def _counting_client(settings):
    from runninghub_video.remote.api import RunningHubClient

    class Counting(RunningHubClient):
        queries = 0

        def query(self, task_id, should_cancel=None):
            self.queries += 1
            return super().query(task_id, should_cancel)

    return Counting(settings)


def _estimate(factor: float | None, phase: float):
    """What the journal would say: HISTORY runs of ESTIMATE_S (+phase, so "1×" is exactly right)."""
    from runninghub_video.run import estimate as est

    if factor is None:
        return est.TaskEstimate(est.learn([], 20.0), est.learn([], est.prior_run_seconds("", "480p", "5")))
    return est.TaskEstimate(est.learn([QUEUE_S] * HISTORY, 20.0), est.learn([ESTIMATE_S + phase] * HISTORY, 60.0))


def _one(emu, url: str, case: str, phase: float, ours: bool, out: list) -> None:
    from runninghub_video.remote import facts
    from runninghub_video.run.polling import TaskWait, wait_for_task
    from runninghub_video.remote.request import VideoRequest

    factor = CASES[case]
    run_s = ESTIMATE_S * (factor or 1.0) + phase
    request = VideoRequest(f"bench polling {run_s}", duration="5", resolution="480p").validated()
    body = request.body([url])
    with _counting_client(settings_for(emu)) as client:
        submitted = time.monotonic()
        status = client.submit(body, path=request.endpoint.submit_path)
        if not ours:  # the official pack's loop
            while status.status != facts.SUCCESS_STATE:
                time.sleep(BASELINE_SLEEP_S)
                status = client.query(status.task_id)
        else:
            status = wait_for_task(client, TaskWait(status.task_id, _estimate(factor, phase), initial=status,
                                                    submitted_at=submitted))
        returned = time.monotonic()
        end = emu.tasks[status.task_id].end
        out.append({"case": case, "latency": returned - end, "queries": client.queries,
                    "per_minute": client.queries / ((returned - submitted) / 60)})


def eta_errors(after: tuple[int, ...] = (1, 3, 10), before_s: float = 20.0, factor: float = 3.0) -> dict:
    """Relative ETA error, ours and the old median's, after n finished tasks of the new run time."""
    import statistics as stats

    from runninghub_video.run import estimate as est
    from runninghub_video.ledger.journal import Journal

    with state_dir("rh-bench-eta-") as tmp:
        journal = Journal(tmp / "journal.sqlite3")
        request = {"model": "m", "resolution": "720p", "duration": "5"}

        def finish(run_s: float) -> None:
            task_id = str(len(journal.list(limit=1000)) + 1)
            journal.record(task_id, site="cn", endpoint="cn", state="QUEUED", request=request)
            journal.update(task_id, state="SUCCESS", run_seconds=run_s)

        for _ in range(HISTORY):
            finish(before_s)
        new, errors, seen = before_s * factor, {}, 0
        for n in after:
            while seen < n:
                finish(new)
                seen += 1
            runs = [t.run_s for t in journal.finished_tasks("cn")]  # "cn": the endpoint these rows name
            ours = est.from_journal(journal, "cn", "m", "720p", "5").run.mid
            median = stats.median(runs[-20:])
            errors[n] = (abs(ours - new) / new, abs(median - new) / new)
    return errors


def run() -> list[Row]:
    from runninghub_video.emulator import Emulator

    from . import photo_like

    n_tasks = 2 * len(CASES) * len(PHASES)
    with state_dir(), Emulator(queue_s=QUEUE_S, run_s=lambda body: float(body["prompt"].split()[-1]),
                               concurrent_limit=n_tasks, balance=1e6) as emu:
        from runninghub_video.remote.api import RunningHubClient
        from runninghub_video.media.images import encode_references

        (ref,) = encode_references([photo_like(1, 256)])
        with RunningHubClient(settings_for(emu)) as client:
            url = client.upload(ref.data, ref.filename, ref.content_type)
        results: dict[bool, list] = {True: [], False: []}
        threads = [threading.Thread(target=_one, args=(emu, url, case, phase, ours, results[ours]), daemon=True)
                   for case in CASES for phase in PHASES for ours in (True, False)]
        for t in threads:
            t.start()
            time.sleep(0.05)  # the emulator's listen backlog is small: 64 connects at once get resets
        for t in threads:
            t.join()
    if any(len(r) != len(CASES) * len(PHASES) for r in results.values()):
        raise RuntimeError("polling benchmark: some tasks did not finish (see errors above)")

    def stat(ours: bool, key: str, fn, case: str | None = None) -> float:
        return fn([r[key] for r in results[ours] if case is None or r["case"] == case])

    worst = {o: stat(o, "latency", max) for o in (True, False)}
    right = {o: stat(o, "latency", statistics.fmean, "1×") for o in (True, False)}
    mean = {o: stat(o, "latency", statistics.fmean) for o in (True, False)}
    rate = {o: stat(o, "per_minute", max) for o in (True, False)}
    detail = "; ".join(
        f"{case}: " + ", ".join(f"{'ours' if o else '5 s poll'} {stat(o, 'latency', statistics.fmean, case):.2f} s "
                                f"(worst {stat(o, 'latency', max, case):.2f}) / "
                                f"{stat(o, 'queries', statistics.fmean, case):.1f} q" for o in (True, False))
        for case in CASES)
    setting = (f"{len(PHASES)} tasks per case and policy, all at once; queue {QUEUE_S:.0f} s, estimate "
               f"{ESTIMATE_S:.0f} s run. Mean latency (worst) / queries per case: {detail}.")
    errors = eta_errors()
    ours_eta = " / ".join(f"{errors[n][0]:.0%}" for n in errors)
    median_eta = " / ".join(f"{errors[n][1]:.0%}" for n in errors)
    return [
        Row("1a added latency after SUCCESS, worst task (all cases)", f"{worst[True]:.2f} s",
            f"{worst[False]:.2f} s", worst[True] / worst[False], "≤ 2.0 s", worst[True] <= 2.0, setting),
        Row("1b added latency, mean, estimate right (1×)", f"{right[True]:.2f} s", f"{right[False]:.2f} s",
            right[True] / right[False], "≤ 1.2 s", right[True] <= 1.2),
        Row("1c added latency, mean over 0.25×, 1×, 4×, no history", f"{mean[True]:.2f} s", f"{mean[False]:.2f} s",
            mean[True] / mean[False], "≤ 1.2 s", mean[True] <= 1.2),
        Row("1d queries per task-minute, worst task", f"{rate[True]:.1f}", f"{rate[False]:.1f}",
            rate[True] / rate[False], "≤ 30", rate[True] <= 30.0,
            "task-minute: from submit until the task is seen done."),
        Row("1e ETA error after 1 / 3 / 10 tasks once run time triples", ours_eta, f"{median_eta} (median of 20)",
            None, "below the median's", all(o < m for o, m in errors.values()),
            f"{HISTORY} tasks of 20 s, then tasks of 60 s; error = |estimate − 60 s| / 60 s, through the journal."),
    ]


if __name__ == "__main__":
    import sys

    from .__main__ import main

    sys.exit(main(["polling"]))
