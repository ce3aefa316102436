"""``python -m bench.soak [--runs 120] [--seed 9]``: many overlapping runs with random faults, on the
emulator over loopback only, then a check that no request was paid twice.

A small pool of requests is run again and again, 4 runs at a time — half the batches all of one
request, started at the same instant like identical nodes of one prompt — by threads of this
process and by child processes (some killed at a random moment, like a crash or Ctrl-C), while
random faults are injected: gateway errors, resets, lost submit answers, submit answers that prove
nothing (not JSON, empty, a list, {code:500}, HTML 403, 1000, 1011, a task id of another shape),
SUCCESS without a video URL, rate limits, failed tasks, lapsed upload URLs, truncated and slow
downloads, a server echoing the key. Then every request is queued once more without faults, as a
user would after an error. Reported:

- double charges: a request (prompt + variation) with more than one charged task — must be 0;
- tracebacks: any exception that is not one of the pack's own errors — must be 0;
- paid but undelivered: charged tasks whose video no run returned — each must belong to a
  request whose submit got no answer, refused with a message saying how to recover it.

Bounded: every run has a 30 s limit and the soak stops starting runs after ``--budget`` seconds.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 30
CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from runninghub_video.core import errors
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest
    image = np.full((1, 48, 64, 3), float(sys.argv[3]), np.float32)
    try:
        r = generate([image], VideoRequest(sys.argv[2], duration="2", resolution="480p"), output_dir=sys.argv[4],
                     timeout_s=30)
        print(json.dumps({"task_id": r.task_id}))
    except errors.RunningHubError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
""")

# (name, how to inject it into the emulator)
FAULTS = [
    ("none", lambda e: None),
    ("upload 503 x2", lambda e: e.inject("upload", "http_error", count=2, status=503)),
    ("upload reset", lambda e: e.inject("upload", "reset")),
    ("query 500 x3", lambda e: e.inject("query", "http_error", count=3, status=500)),
    ("query reset x2", lambda e: e.inject("query", "reset", count=2)),
    ("download truncated", lambda e: e.inject("download", "truncate", fraction=0.3)),
    ("download reset", lambda e: e.inject("download", "reset")),
    ("download slow", lambda e: e.inject("download", "slow", bytes_per_s=200_000)),
    ("submit 1003", lambda e: e.inject("submit", "error_code", code="1003")),
    ("submit 421", lambda e: e.inject("submit", "error_code", code="421")),
    ("submit 502 (no task)", lambda e: e.inject("submit", "http_error", status=502)),
    ("submit answer lost (task made)", lambda e: e.inject("submit", "timeout_after_create", seconds=0.3, reset=True)),
    ("submit 504 after the task was made", lambda e: e.inject("submit", "timeout_after_create", seconds=0.2,
                                                              status=504)),
    ("submit slow answer", lambda e: e.inject("submit", "delay", seconds=1.0)),
    ("task FAILED 1501", lambda e: e.fail_next_tasks(code="1501")),
    ("upload URLs lapse (task 1013)", lambda e: e.expire_uploads(seen_at="task")),
    ("key echoed in an error", lambda e: e.inject("submit", "echo_key")),
    # answers that prove nothing (the task was made first), and finished tasks without a video URL
    ("submit 200 not JSON (task made)", lambda e: e.inject("submit", "answer_after_create", answer="not_json")),
    ("submit empty answer (task made)", lambda e: e.inject("submit", "answer_after_create", answer="empty")),
    ("submit JSON list (task made)", lambda e: e.inject("submit", "answer_after_create", answer="list")),
    ("submit {code:500} (task made)", lambda e: e.inject("submit", "answer_after_create", answer="code_500")),
    ("submit HTML 403 (task made)", lambda e: e.inject("submit", "answer_after_create", answer="html", status=403)),
    ("submit errorCode 1000 (task made)", lambda e: e.inject("submit", "answer_after_create", answer="error_1000")),
    ("submit task id ../../etc/x (task made)", lambda e: e.inject("submit", "answer_after_create",
                                                                  answer="task_id_path")),
    ("submit task id as a number (task made)", lambda e: e.inject("submit", "answer_after_create",
                                                                  answer="task_id_number")),
    ("submit 1011 (no task, unknown)", lambda e: e.inject("submit", "error_code", code="1011")),
    ("SUCCESS without results", lambda e: e.break_results("empty")),
    ("SUCCESS with only a PNG", lambda e: e.break_results("png_only")),
]


# Faults that leave an ambiguous submit block their request for a day (by design), so they are drawn
# less often: otherwise most requests would be blocked early and overlapping runs of one request,
# the case a double charge comes from, would be rare.
WEIGHTS = {"none": 8, "submit 502 (no task)": 1, "submit answer lost (task made)": 1,
           "submit 504 after the task was made": 1, **{name: 1 for name, _ in FAULTS if "(task made)" in name},
           "submit 1011 (no task, unknown)": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--requests", type=int, default=30, help="distinct requests the runs draw from")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--budget", type=float, default=600.0, help="stop starting runs after this many seconds")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    report = soak(args.runs, args.requests, args.concurrency, args.seed, args.budget)
    print(json.dumps(report, indent=2))
    ok = report["double_charges"] == 0 and report["tracebacks"] == 0 and report["undelivered_unexplained"] == 0
    return 0 if ok else 1


def soak(runs: int, requests: int, concurrency: int, seed: int, budget_s: float) -> dict:
    import numpy as np

    from runninghub_video.core import errors
    from runninghub_video.remote.config import Settings
    from runninghub_video.emulator import Emulator
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest

    rng = random.Random(seed)
    started = time.monotonic()
    outcomes: list[dict] = []
    lock = threading.Lock()
    pool = [(f"soak request {i}", round(0.1 + 0.8 * i / max(1, requests - 1), 3)) for i in range(requests)]

    with tempfile.TemporaryDirectory(prefix="rh-soak-") as tmp, \
            Emulator(queue_s=lambda body: rng.uniform(0.05, 0.4), run_s=lambda body: rng.uniform(0.2, 1.0),
                     concurrent_limit=3) as emu:
        env = {**os.environ, "RUNNINGHUB_STATE_DIR": str(Path(tmp) / "state"), "RUNNINGHUB_BASE_URL": emu.base_url,
               "RUNNINGHUB_API_KEY": emu.api_key, "RUNNINGHUB_SITE": "cn"}
        os.environ.update({k: env[k] for k in ("RUNNINGHUB_STATE_DIR", "RUNNINGHUB_BASE_URL", "RUNNINGHUB_API_KEY",
                                               "RUNNINGHUB_SITE")})
        settings = Settings(emu.api_key, "cn", emu.base_url)
        out = Path(tmp) / "out"

        def record(entry: dict) -> None:
            with lock:
                outcomes.append(entry)

        def in_thread(prompt: str, grey: float, fault: str, start: threading.Barrier | None = None) -> None:
            image = np.full((1, 48, 64, 3), grey, np.float32)
            entry = {"prompt": prompt, "fault": fault, "where": "thread"}
            if start is not None:
                start.wait(10)  # the runs of a batch begin at the same instant, as nodes of one prompt do
            try:
                result = generate([image], VideoRequest(prompt, duration="2", resolution="480p"), output_dir=out,
                                  timeout_s=RUN_TIMEOUT_S, settings=settings)
                entry["task_id"] = result.task_id
            except errors.RunningHubError as exc:
                entry.update(error=type(exc).__name__, message=str(exc))
            except BaseException:  # a traceback: what the soak must never see
                entry.update(error="TRACEBACK", message=traceback.format_exc())
            record(entry)

        def in_process(prompt: str, grey: float, fault: str, kill_after: float | None) -> None:
            proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), prompt, str(grey), str(out)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            entry = {"prompt": prompt, "fault": fault, "where": "process"}
            if kill_after is not None:
                time.sleep(kill_after)
                if proc.poll() is None:  # still running: a crash (SIGKILL) or Ctrl-C (SIGINT) mid-run
                    proc.send_signal(rng.choice([signal.SIGKILL, signal.SIGINT]))
                    entry["killed"] = True
            stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S + 30)
            lines = stdout.strip().splitlines()
            if lines and lines[-1].startswith("{"):
                entry.update(json.loads(lines[-1]))
            elif "Traceback" in stderr and not (entry.get("killed") and "KeyboardInterrupt" in stderr):
                entry.update(error="TRACEBACK", message=stderr[-2000:])
            else:
                entry.setdefault("error", "killed")
            record(entry)

        fault_counts: collections.Counter = collections.Counter()
        started_runs = 0
        while started_runs < runs and time.monotonic() - started < budget_s:
            size = min(concurrency, runs - started_runs)
            plans = []
            shared = rng.choice(pool) if rng.random() < 0.5 else None  # half the batches: one request, many runs
            for _ in range(size):
                prompt, grey = shared or rng.choice(pool)
                name, inject = rng.choices(FAULTS, weights=[WEIGHTS.get(n, 3) for n, _ in FAULTS])[0]
                inject(emu)
                fault_counts[name] += 1
                process = rng.random() < 0.15
                kill_after = rng.uniform(0.15, 1.0) if process and rng.random() < 0.6 else None
                plans.append((prompt, grey, name, process, kill_after))
            threads_in_batch = sum(1 for plan in plans if not plan[3])
            start = threading.Barrier(threads_in_batch) if threads_in_batch else None
            batch = [threading.Thread(target=in_process, args=(prompt, grey, name, kill_after)) if process
                     else threading.Thread(target=in_thread, args=(prompt, grey, name, start))
                     for prompt, grey, name, process, kill_after in plans]
            started_runs += size
            for t in batch:
                t.start()
            for t in batch:
                t.join(RUN_TIMEOUT_S + 60)
            _clear_faults(emu)

        # A user queues every request again after the errors (no faults now); orphaned tasks finish.
        time.sleep(1.5)
        recovery = [threading.Thread(target=in_thread, args=(prompt, grey, "recovery")) for prompt, grey in pool]
        for t in recovery:
            t.start()
        for t in recovery:
            t.join(RUN_TIMEOUT_S + 60)
        time.sleep(1.5)

        return _report(emu, outcomes, fault_counts, started_runs, time.monotonic() - started)


def _clear_faults(emu) -> None:
    """Faults a batch did not consume do not spill into the next one."""
    with emu.state.lock:
        for queue in emu.state.faults.values():
            queue.clear()
        emu.state.pending_failures.clear()
        emu.state.broken_results.clear()


def _report(emu, outcomes: list[dict], fault_counts, runs: int, wall_s: float) -> dict:
    tasks = emu.tasks
    charged = [t for t in tasks.values() if t.charged]
    by_request = collections.Counter(t.body["prompt"] for t in charged)
    delivered = {o["task_id"] for o in outcomes if "task_id" in o}
    ambiguous: dict[str, list[str]] = collections.defaultdict(list)
    for o in outcomes:
        if o.get("error") == "AmbiguousSubmitError":
            ambiguous[o["prompt"]].append(o["message"])
    undelivered = [t for t in charged if t.task_id not in delivered]

    def explained(task) -> bool:
        return any("may have created a paid task" in m and "Fetch Task" in m and "variation" in m
                   and "call records" in m for m in ambiguous.get(task.body["prompt"], []))

    errors = collections.Counter(o.get("error", "video") for o in outcomes)
    return {
        "runs": runs,
        "recovery_runs": sum(1 for o in outcomes if o["fault"] == "recovery"),
        "processes": sum(1 for o in outcomes if o["where"] == "process"),
        "processes_killed_mid_run": sum(1 for o in outcomes if o.get("killed")),
        "faults": dict(sorted(fault_counts.items())),
        "outcomes": dict(sorted(errors.items())),
        "submits_received": emu.counters.submits,
        "tasks_created": len(tasks),
        "tasks_charged": len(charged),
        "money_charged": round(emu.counters.money_charged, 2),
        "double_charges": sum(n - 1 for n in by_request.values() if n > 1),
        "tracebacks": errors.get("TRACEBACK", 0),
        "traceback_samples": [o["message"][-1500:] for o in outcomes if o.get("error") == "TRACEBACK"][:3],
        "key_in_outputs": sum(1 for o in outcomes if emu.api_key in json.dumps(o)),
        "paid_undelivered": len(undelivered),
        "undelivered_explained_by_ambiguous_submit": sum(1 for t in undelivered if explained(t)),
        "undelivered_unexplained": sum(1 for t in undelivered if not explained(t)),
        "wall_s": round(wall_s, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
