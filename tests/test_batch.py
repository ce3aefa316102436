"""`python -m runninghub_video batch FILE`: many videos at the account's concurrency, within a
budget, resumable; every figure is counted on the emulator (submits, tasks, money)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from ..runninghub_video import cli
from ..runninghub_video.ledger.journal import Journal

from conftest import cli_command, image_bytes, tasks_held_until, wait_until

ROOT = Path(__file__).resolve().parents[1]
PRICE = 0.14  # v1-lite, 480p × 2 s


def batch_file(folder: Path, lines: list[dict], name: str = "batch.jsonl") -> Path:
    """A JSON Lines file beside two reference images (red.png, green.png)."""
    (folder / "red.png").write_bytes(image_bytes((200, 30, 30)))
    (folder / "green.png").write_bytes(image_bytes((30, 200, 30)))
    path = folder / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def six_lines(count_on_third: int = 2) -> list[dict]:
    lines = [{"prompt": f"shot {i}", "images": ["red.png"] if i % 2 else ["red.png", "green.png"],
              "duration": "2", "resolution": "480p"} for i in range(1, 7)]
    lines[2]["count"] = count_on_third
    return lines


def run_batch(capsys, path: Path, *options: str) -> tuple[int, dict]:
    code = cli.main(["batch", str(path), "--output-dir", str(path.parent / "out"), "--json", *options])
    return code, json.loads(capsys.readouterr().out)


def most_at_once(emulator) -> int:
    spans = [(t.created, t.end) for t in emulator.tasks.values()]
    return max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)


def test_a_jsonl_batch_runs_every_line_and_variation_at_the_account_limit_never_above_it(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 3
    rh_env.over_limit = "reject"  # a submit over the limit would be refused with 421
    rh_env.set_clock(queue_s=0.2)
    path = batch_file(tmp_path, six_lines())
    code, report = tasks_held_until(rh_env, lambda: len(rh_env.tasks) == 3, lambda: run_batch(capsys, path),
                                    "three tasks at once")
    assert code == 0
    assert [(i["line"], i["variation"], i["state"]) for i in report["items"]] == [
        (1, 0, "saved"), (2, 0, "saved"), (3, 0, "saved"), (3, 1, "saved"), (4, 0, "saved"), (5, 0, "saved"),
        (6, 0, "saved")]
    assert all(Path(i["video_path"]).is_file() and i["cost"] == PRICE for i in report["items"])
    assert rh_env.counters.submits == rh_env.counters.submits_accepted == 7  # none refused for concurrency
    assert most_at_once(rh_env) == 3
    assert rh_env.counters.uploads == 2  # red and green, shared by every line that uses them
    assert report["totals"]["spent"] == pytest.approx(7 * PRICE)
    assert Path(report["totals"]["contact_sheet"]).is_file()


def test_each_lines_references_are_prepared_once_not_again_when_it_runs(rh_env, tmp_path, capsys, monkeypatch):
    from ..runninghub_video.media import images

    made = []
    real = images.prepare_references
    monkeypatch.setattr(images, "prepare_references", lambda *a, **k: _counted(real, made, *a, **k))
    code, report = run_batch(capsys, batch_file(tmp_path, six_lines()))
    assert code == 0 and len(report["items"]) == 7
    assert len(made) == 9  # 1 + 2 + 1 + 2 + 1 + 2 images, checked before the batch ran; line 3's two runs share its one
    assert rh_env.counters.uploads == 2


def _counted(real, made: list, *args, **kwargs) -> list:
    """``real``'s result, each reference it made also noted in ``made``."""
    result = real(*args, **kwargs)
    made.extend(result)
    return result


def test_concurrency_option_lowers_the_number_of_tasks_at_once(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 3
    rh_env.set_clock(queue_s=0.1, run_s=0.5)
    code, _ = run_batch(capsys, batch_file(tmp_path, six_lines(count_on_third=1)[:4]), "--concurrency", "1")
    assert code == 0 and most_at_once(rh_env) == 1 and rh_env.counters.submits == 4


def test_a_csv_batch_splits_reference_lists_on_semicolons_and_reads_paths_from_its_folder(rh_env, tmp_path, capsys):
    batch_file(tmp_path, [])
    path = tmp_path / "shots.csv"
    path.write_text("prompt,images,duration,resolution,camera_fixed,count\n"
                    "\"a red, then a green\",red.png;green.png,2,480p,true,2\n"
                    "green only,green.png,3,480p,,\n", encoding="utf-8")
    code, report = run_batch(capsys, path)
    assert code == 0 and [(i["line"], i["variation"]) for i in report["items"]] == [(2, 0), (2, 1), (3, 0)]
    bodies = sorted((t.body for t in rh_env.tasks.values()), key=lambda b: b["prompt"])
    assert [len(b["imageUrls"]) for b in bodies] == [2, 2, 1]
    assert bodies[0]["prompt"] == "a red, then a green" and bodies[0]["cameraFixed"] == "true"
    assert bodies[2]["duration"] == "3" and bodies[2]["cameraFixed"] == "false"


def test_bad_lines_are_reported_by_number_and_cost_nothing_while_the_good_ones_run(rh_env, tmp_path, capsys):
    path = batch_file(tmp_path, [{"prompt": "good one", "images": ["red.png"], "duration": "2", "resolution": "480p"},
                                 {"prompt": "missing file", "images": ["nowhere.png"]},
                                 {"prompt": "", "images": ["red.png"]},
                                 {"prompt": "bad duration", "images": ["red.png"], "duration": "99"},
                                 {"prompt": "typo", "images": ["red.png"], "resolutoin": "480p"}])
    with path.open("a", encoding="utf-8") as f:
        f.write("this is not json\n")
    code, report = run_batch(capsys, path)
    assert code == 3
    states = {i["line"]: (i["state"], i["charged"], i["error"] or "") for i in report["items"]}
    assert states[1][0] == "saved"
    for line, words in ((2, "nowhere.png"), (3, "prompt is empty"), (4, "99"), (5, "resolutoin"), (6, "JSON")):
        state, charged, error = states[line]
        assert state == "failed" and charged is False and f"line {line} is not valid" in error and words in error
    assert rh_env.counters.submits == 1 and rh_env.counters.uploads == 1


def test_strict_runs_nothing_when_any_line_is_bad(rh_env, tmp_path, capsys):
    path = batch_file(tmp_path, six_lines()[:2] + [{"prompt": "missing file", "images": ["nowhere.png"]}])
    code, report = run_batch(capsys, path, "--strict")
    assert code == 3 and report["totals"]["not_started"] == 2 and report["totals"]["failed"] == 1
    assert rh_env.counters.submits == 0 and rh_env.counters.uploads == 0


def test_a_failed_line_does_not_stop_the_others_and_the_summary_says_why_and_that_it_was_not_charged(
        rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 1  # one at a time: the first task created is line 1's
    rh_env.fail_next_tasks("1501")
    path = batch_file(tmp_path, six_lines(count_on_third=1)[:3])
    code = cli.main(["batch", str(path), "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 3
    assert "line 1 · variation 0: failed" in out and "not charged" in out and "moderation" in out.lower()
    assert "2 of 3 saved, 1 failed" in out
    assert rh_env.counters.submits == 3 and rh_env.counters.money_charged == pytest.approx(2 * PRICE)


def test_the_budget_stops_new_lines_before_the_spend_would_pass_it(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 2
    code, report = run_batch(capsys, batch_file(tmp_path, six_lines()), "--budget", "0.5")
    assert code == 3
    saved = [i for i in report["items"] if i["state"] == "saved"]
    rest = [i for i in report["items"] if i["state"] != "saved"]
    assert len(saved) == 3 and len(rest) == 4
    assert all(i["state"] == "not started" and "batch budget" in i["error"] and i["charged"] is False for i in rest)
    assert rh_env.counters.money_charged <= 0.5 and report["totals"]["spent"] <= 0.5
    assert rh_env.counters.submits == 3


def test_the_daily_budget_still_applies_to_a_batch(rh_env, tmp_path, capsys):
    from ..runninghub_video.run import spend

    spend.set_daily_budget("cn", 0.3)
    code, report = run_batch(capsys, batch_file(tmp_path, six_lines()))
    assert code == 3 and rh_env.counters.money_charged <= 0.3
    assert {i["state"] for i in report["items"]} == {"saved", "not started"}
    assert any("daily budget" in (i["error"] or "") for i in report["items"])


def test_the_same_batch_again_reuses_every_saved_video_and_pays_nothing(rh_env, tmp_path, capsys):
    path = batch_file(tmp_path, six_lines())
    assert run_batch(capsys, path)[0] == 0
    code, report = run_batch(capsys, path)
    assert code == 0 and report["totals"]["saved"] == 7 and rh_env.counters.submits == 7


def test_an_ambiguous_submit_is_explained_and_never_sent_again(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 1
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)  # line 1: created, answer lost
    path = batch_file(tmp_path, six_lines(count_on_third=1)[:3])
    code, report = run_batch(capsys, path)
    first = report["items"][0]
    assert code == 3 and first["state"] == "ambiguous" and first["charged"] is None
    assert "fetch" in first["error"] and "variation" in first["error"]
    assert [i["state"] for i in report["items"][1:]] == ["saved", "saved"]
    code, again = run_batch(capsys, path)
    assert code == 3 and again["items"][0]["state"] == "ambiguous" and rh_env.counters.submits == 3


def test_a_line_whose_new_task_runninghub_cannot_find_yet_fails_charge_unknown_and_the_batch_again_asks_again(
        rh_env, tmp_path, capsys):
    """The task exists (its submit answered with its id) and may be paid: never "not charged", never sent again."""
    rh_env.inject("submit", "not_found_at_first", seconds=600)
    path = batch_file(tmp_path, six_lines()[:1])
    for _ in range(2):  # the second run asks again while RunningHub still cannot find it
        code, report = run_batch(capsys, path)
        (item,) = report["items"]
        assert code == 3 and item["state"] == "failed" and item["charged"] is None and item["task_id"]
        assert "RunningHub made task" in item["error"] and f"fetch {item['task_id']}" in item["error"]
    cli.main(["batch", str(path), "--output-dir", str(tmp_path / "out")])
    assert f"failed (task {item['task_id']}), charge unknown: RunningHub made task" in capsys.readouterr().out
    rh_env.skip(600)  # RunningHub shows it at last
    code, report = run_batch(capsys, path)
    assert code == 0 and [(i["state"], i["task_id"]) for i in report["items"]] == [("saved", item["task_id"])]
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_a_batch_killed_after_three_tasks_were_created_pays_for_no_line_twice(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 3
    rh_env.set_clock(queue_s=0.2, run_s=600.0)  # no slot frees before the kill, however slow the machine
    path = batch_file(tmp_path, six_lines(count_on_third=1))
    child = subprocess.Popen(cli_command("batch", path, "--output-dir", tmp_path / "out"), cwd=ROOT, env=dict(os.environ),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sum(1 for r in Journal().list(20) if r.task_id) == 3, what="three journaled tasks")
    finally:
        child.send_signal(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        child.wait(10)
    assert len(rh_env.tasks) == 3
    rh_env.end_tasks_now()
    rh_env.set_clock(run_s=0.3)
    code, report = run_batch(capsys, path)
    assert code == 0 and report["totals"]["saved"] == 6
    assert len(rh_env.tasks) == 6 and rh_env.counters.submits == 6
    assert rh_env.counters.money_charged == pytest.approx(6 * PRICE)


def test_a_line_names_its_mode_or_gets_the_one_its_references_imply(rh_env, tmp_path, capsys):
    rh_env.set_clock(queue_s=0.1, run_s=0.3)
    path = batch_file(tmp_path, [
        {"prompt": "from red to green", "model": "seedance-2.0", "start_image": "red.png", "end_image": "green.png",
         "duration": "4", "resolution": "480p"},
        {"prompt": "no frames here", "mode": "frames", "images": ["red.png"]}])
    code, report = run_batch(capsys, path)
    assert [i["state"] for i in report["items"]] == ["saved", "failed"]
    assert "line 2 is not valid" in report["items"][1]["error"]
    (task,) = rh_env.tasks.values()
    assert task.body["firstFrameUrl"] and task.body["lastFrameUrl"] and "imageUrls" not in task.body


def test_ctrl_c_stops_the_batch_and_the_same_command_again_pays_for_no_line_twice(rh_env, tmp_path, capsys):
    rh_env.concurrent_limit = 3
    rh_env.set_clock(queue_s=0.2, run_s=600.0)  # no slot frees before the Ctrl-C, however slow the machine
    path = batch_file(tmp_path, six_lines(count_on_third=1))
    child = subprocess.Popen(cli_command("batch", path, "--output-dir", tmp_path / "out", "--json"), cwd=ROOT,
                             env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wait_until(lambda: sum(1 for r in Journal().list(20) if r.task_id) == 3, what="three journaled tasks")
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 130
    stopped = json.loads(out)["items"]
    assert [i["state"] for i in stopped].count("not started") == 3 and len(rh_env.tasks) == 3
    assert all("Ctrl-C" in i["error"] for i in stopped)
    rh_env.end_tasks_now()
    rh_env.set_clock(run_s=0.3)
    code, report = run_batch(capsys, path)
    assert code == 0 and report["totals"]["saved"] == 6 and len(rh_env.tasks) == 6
