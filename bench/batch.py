"""Row 7: ``python -m runninghub_video batch`` as a user runs it (the CLI in a subprocess), on the emulator.

A 6-line JSON Lines file whose third line has ``"count": 2`` is 7 tasks. The emulator allows 3 at
once and refuses a submit over that with 421 (``over_limit="reject"``); every task queues 0.5 s and
runs 4 s. Measured: the batch at the account's limit against the same file at ``--concurrency 1``
(one after another), and the submits refused; then the same file killed (SIGKILL) once 3 tasks are
journaled and run again (tasks created in all); then ``--budget`` below the total (spend, and the
lines "not started" in the JSON report). Each run gets a fresh state folder and output folder.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT, Row

QUEUE_S, RUN_S, LIMIT, PRICE = 0.5, 4.0, 3, 0.14


def _file(folder: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / "red.png")
    Image.new("RGB", (64, 48), (30, 200, 30)).save(folder / "green.png")
    lines = [{"prompt": f"bench batch shot {i}", "images": ["red.png"] if i % 2 else ["red.png", "green.png"],
              "duration": "2", "resolution": "480p"} for i in range(1, 7)]
    lines[2]["count"] = 2
    path = folder / "shots.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _command(path: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "runninghub_video", "batch", str(path), "--output-dir", str(path.parent / "out"),
            "--json", *options]


def _env(emu, state: Path) -> dict:
    return {**os.environ, "RUNNINGHUB_BASE_URL": emu.base_url, "RUNNINGHUB_API_KEY": emu.api_key,
            "RUNNINGHUB_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}


def _run(*options: str) -> tuple[float, dict, object]:
    """One batch in fresh folders: (seconds, JSON report, emulator counters)."""
    from runninghub_video.emulator import Emulator

    with tempfile.TemporaryDirectory(prefix="rh-bench-batch-") as tmp, \
            Emulator(queue_s=QUEUE_S, run_s=RUN_S, concurrent_limit=LIMIT, over_limit="reject") as emu:
        folder = Path(tmp)
        path = _file(folder)
        t0 = time.perf_counter()
        done = subprocess.run(_command(path, *options), env=_env(emu, folder / "state"), cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        return time.perf_counter() - t0, json.loads(done.stdout), emu.counters


def _killed_and_resumed() -> tuple[int, int, int, float]:
    """(tasks when killed, tasks in all, lines saved, money charged) for a batch killed and run again."""
    from runninghub_video.emulator import Emulator
    from runninghub_video.ledger.journal import Journal

    with tempfile.TemporaryDirectory(prefix="rh-bench-batch-") as tmp, \
            Emulator(queue_s=QUEUE_S, run_s=RUN_S, concurrent_limit=LIMIT, over_limit="reject") as emu:
        folder = Path(tmp)
        path = _file(folder)
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[2] = json.dumps({k: v for k, v in json.loads(lines[2]).items() if k != "count"})
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # 6 lines, 6 tasks
        env = _env(emu, folder / "state")
        child = subprocess.Popen(_command(path), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        journal = Journal(folder / "state" / "journal.sqlite3")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(1 for r in journal.list(20) if r.task_id) < 3:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        at_kill = len(emu.tasks)
        again = subprocess.run(_command(path), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        report = json.loads(again.stdout)
        return at_kill, len(emu.tasks), report["totals"]["saved"], emu.counters.money_charged


def run() -> list[Row]:
    parallel_s, parallel, counters = _run()
    serial_s, serial, _ = _run("--concurrency", "1")
    refused = counters.submits - counters.submits_accepted
    ratio = parallel_s / serial_s
    rows = [Row(f"7a batch: 7 tasks at the account's limit ({LIMIT}) vs one after another",
                f"{parallel_s:.1f} s", f"{serial_s:.1f} s", ratio, "≈ 1/3 (best possible: 3 rounds of 7 = 0.43)",
                ratio <= 0.5 and refused == 0,
                f"{counters.submits} submits, {refused} refused for concurrency (the emulator answers 421 over "
                f"{LIMIT}); {parallel['totals']['saved']} and {serial['totals']['saved']} saved; queue {QUEUE_S} s "
                f"+ run {RUN_S} s per task.")]
    at_kill, tasks, saved, charged = _killed_and_resumed()
    rows.append(Row("7b batch killed after 3 tasks, run again: tasks for 6 lines", f"{tasks} tasks", "6 tasks",
                    tasks / 6, "6 (none paid twice)", tasks == 6 and saved == 6,
                    f"{at_kill} tasks when SIGKILL came; {saved} of 6 lines saved after the second run; "
                    f"{charged:.2f} CNY charged (6 × {PRICE})."))
    budget = 0.5
    _, capped, counters = _run("--budget", str(budget))
    not_started = sum(1 for i in capped["items"] if i["state"] == "not started")
    rows.append(Row(f"7c batch --budget {budget} CNY (7 tasks cost {7 * PRICE:.2f})",
                    f"{counters.money_charged:.2f} CNY", f"{budget:.2f} CNY", counters.money_charged / budget,
                    "spend ≤ budget, rest not started", counters.money_charged <= budget and not_started > 0,
                    f"{capped['totals']['saved']} saved, {not_started} \"not started\" in the JSON report, "
                    f"{counters.submits} submits."))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["batch"]))
