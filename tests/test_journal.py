"""The task journal: a paid video survives crashes, and the same graph never pays twice."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runninghub_video import config, facts
from runninghub_video.journal import (AMBIGUOUS, DOWNLOADED, EXPIRED, JOURNAL_FILE, REUSE_MARGIN_S, Journal,
                                      fingerprint)

FAKE_KEY = "fakekey0123456789abcdefFAKEKEY99"  # 32 chars, never a real key
BODY = {"prompt": "a cat surfing", "duration": "5", "cameraFixed": "false", "resolution": "720p",
        "aspectRatio": "16:9"}
LIFE = facts.RESULT_URL_LIFETIME_S - REUSE_MARGIN_S


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def journal(state) -> Journal:
    return Journal()


def _request(**extra) -> dict:
    return {**BODY, "images": ["aa" * 32], **extra}


def _submitted(journal: Journal, fp: str = "fp1", task_id: str = "2013508786110730241", state: str = "QUEUED",
               site: str = "cn", request: dict | None = None) -> int:
    row_id = journal.begin(fp, site, request or _request(), 0)
    journal.set_task(row_id, task_id, state)
    return row_id


# --- fingerprint ---------------------------------------------------------------------------
def test_same_inputs_give_same_fingerprint_even_with_fresh_upload_urls():
    a = fingerprint(site="cn", request_body_without_urls={**BODY, "imageUrls": ["https://u/1"]},
                    image_hashes=["h1"], variation=0)
    b = fingerprint(site="cn", request_body_without_urls={**BODY, "imageUrls": ["https://u/2"]},
                    image_hashes=["h1"], variation=0)
    assert a == b and len(a) == 64


@pytest.mark.parametrize("change", [
    {"site": "ai"}, {"image_hashes": ["h2"]}, {"image_hashes": ["h1", "h2"]}, {"variation": 1},
    {"model": "other-model"}, {"request_body_without_urls": {**BODY, "prompt": "a dog"}},
])
def test_any_change_that_alters_the_video_changes_the_fingerprint(change):
    base = dict(site="cn", request_body_without_urls=BODY, image_hashes=["h1"], variation=0)
    assert fingerprint(**base) != fingerprint(**{**base, **change})


def test_reference_order_matters_for_the_fingerprint():
    base = dict(site="cn", request_body_without_urls=BODY, variation=0)
    assert fingerprint(image_hashes=["h1", "h2"], **base) != fingerprint(image_hashes=["h2", "h1"], **base)


# --- lifecycle -----------------------------------------------------------------------------
def test_nothing_is_created_until_the_first_write(state):
    journal = Journal()
    assert journal.list() == [] and journal.get("1") is None and journal.find_reusable("fp", "cn") is None
    assert journal.finished_tasks("cn") == []
    assert not state.exists()
    journal.begin("fp", "cn", _request(), 0)
    assert (state / JOURNAL_FILE).is_file()


def test_row_is_written_before_submit_and_follows_the_task(journal):
    row_id = journal.begin("fp1", "cn", _request(), 3)
    row = journal.list()[0]
    assert (row.id, row.state, row.task_id, row.variation) == (row_id, "submitting", None, 3)
    assert row.request["prompt"] == "a cat surfing"

    journal.set_task(row_id, "2013508786110730241", "QUEUED")
    journal.update("2013508786110730241", state="SUCCESS", result_url="https://r/out.mp4", cost="0.75",
                   currency="CNY", run_seconds="58")
    row = journal.get("2013508786110730241", site="cn")
    assert row.state == "SUCCESS" and row.submitted_at and row.finished_at
    assert (row.cost, row.currency, row.run_seconds) == ("0.75", "CNY", 58.0)
    assert journal.get("2013508786110730241", site="ai") is None


def test_finished_at_keeps_the_first_finish_time(journal):
    _submitted(journal, task_id="t1")
    journal.update("t1", state="SUCCESS", finished_at=1000.0)
    journal.update("t1", state=DOWNLOADED, video_path="/x.mp4")
    assert journal.get("t1").finished_at == 1000.0


def test_update_rejects_unknown_fields(journal):
    row_id = journal.begin("fp", "cn", _request(), 0)
    with pytest.raises(TypeError, match="colour"):
        journal.update(row_id, colour="red")


def test_list_is_newest_first_and_filters_by_site(journal):
    for n, site in enumerate(["cn", "ai", "cn"]):
        _submitted(journal, fp=f"fp{n}", task_id=f"t{n}", site=site)
    assert [r.task_id for r in journal.list()] == ["t2", "t1", "t0"]
    assert [r.task_id for r in journal.list(site="cn")] == ["t2", "t0"]
    assert [r.task_id for r in journal.list(limit=1)] == ["t2"]


# --- find_reusable -------------------------------------------------------------------------
def test_pending_task_is_reused_instead_of_paying_again(journal):
    _submitted(journal, task_id="t1", state="RUNNING")
    assert journal.find_reusable("fp1", "cn").task_id == "t1"
    assert journal.find_reusable("fp1", "ai") is None
    assert journal.find_reusable("other", "cn") is None


def test_unknown_server_state_with_task_id_is_still_worth_resuming(journal):
    _submitted(journal, task_id="t1", state="PAUSED_BY_NEW_API")
    assert journal.find_reusable("fp1", "cn").task_id == "t1"


def test_pending_task_older_than_its_server_life_is_not_reused(journal):
    _submitted(journal, task_id="t1")
    journal.update("t1", submitted_at=1000.0)
    assert journal.find_reusable("fp1", "cn", now=1000.0 + LIFE - 1).task_id == "t1"
    assert journal.find_reusable("fp1", "cn", now=1000.0 + LIFE + 1) is None


@pytest.mark.parametrize("state", ["FAILED", "CANCEL", EXPIRED, AMBIGUOUS])
def test_failed_cancelled_expired_or_ambiguous_rows_are_never_reused(journal, state):
    _submitted(journal, task_id="t1", state=state)
    assert journal.find_reusable("fp1", "cn") is None


def test_submit_without_answer_is_not_reused(journal):
    journal.begin("fp1", "cn", _request(), 0)
    assert journal.find_reusable("fp1", "cn") is None


def test_success_is_reused_only_while_its_result_url_lives(journal):
    _submitted(journal, task_id="t1")
    journal.update("t1", state="SUCCESS", result_url="https://r/out.mp4", finished_at=5000.0)
    assert journal.find_reusable("fp1", "cn", now=5000.0 + LIFE - 1).task_id == "t1"
    assert journal.find_reusable("fp1", "cn", now=5000.0 + LIFE + 1) is None


def test_downloaded_video_on_disk_is_reused_after_its_url_expired(journal, tmp_path):
    video = tmp_path / "out.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    _submitted(journal, task_id="t1")
    journal.update("t1", state=DOWNLOADED, result_url="https://r/out.mp4", video_path=str(video), finished_at=1.0)
    row = journal.find_reusable("fp1", "cn", now=10 * facts.RESULT_URL_LIFETIME_S)
    assert row.task_id == "t1" and row.has_video

    video.unlink()
    assert journal.find_reusable("fp1", "cn", now=10 * facts.RESULT_URL_LIFETIME_S) is None
    fresh = journal.find_reusable("fp1", "cn", now=2.0)  # file gone but URL still fresh: download again
    assert fresh.task_id == "t1" and not fresh.has_video


def test_newest_reusable_row_wins_over_older_ones(journal):
    _submitted(journal, task_id="old", state="RUNNING")
    _submitted(journal, task_id="failed", state="FAILED")
    _submitted(journal, task_id="new", state="QUEUED")
    journal.begin("fp1", "cn", _request(), 0)  # a submit in flight, outcome unknown
    assert journal.find_reusable("fp1", "cn").task_id == "new"


# --- what the estimate learns from --------------------------------------------------------
def test_finished_tasks_are_the_successes_of_the_site_oldest_first_with_queue_and_run_time(journal):
    for n, (seconds, state, site) in enumerate([("50", "SUCCESS", "cn"), ("60", DOWNLOADED, "cn"),
                                                ("999", "FAILED", "cn"), ("70", "SUCCESS", "ai")]):
        row = journal.begin(f"fp{n}", site, _request(), 0)
        journal.set_task(row, f"t{n}", "QUEUED")
        submitted = journal.get(f"t{n}").submitted_at
        journal.update(f"t{n}", state="RUNNING", running_at=submitted + 10 * n)
        journal.update(f"t{n}", state=state, run_seconds=seconds)
    finished = journal.finished_tasks("cn")
    assert [(t.queue_s, t.run_s) for t in finished] == [(0.0, 50.0), (10.0, 60.0)]
    assert finished[0].request["resolution"] == _request()["resolution"]
    assert [t.run_s for t in journal.finished_tasks("ai")] == [70.0]


# --- secrets -------------------------------------------------------------------------------
def test_journal_file_never_contains_the_api_key(journal, state):
    config.register_secret(FAKE_KEY)
    row_id = journal.begin("fp1", "cn", _request(apikey=FAKE_KEY, note=f"pasted {FAKE_KEY} here",
                                                 image=b"\x89PNG raw bytes"), 0)
    journal.set_task(row_id, "t1", "QUEUED")
    journal.update("t1", state="FAILED", error_code="1002",
                   error_message=f"Authorization: Bearer {FAKE_KEY} rejected",
                   request=_request(api_key=FAKE_KEY, prompt=f"{FAKE_KEY}"))
    row = journal.get("t1")
    assert FAKE_KEY not in repr(row) and "apikey" not in row.request and "image" not in row.request
    raw = b"".join(p.read_bytes() for p in state.iterdir() if p.name.startswith(JOURNAL_FILE))
    assert raw and FAKE_KEY.encode() not in raw and b"raw bytes" not in raw


# --- concurrency and schema ----------------------------------------------------------------
def test_many_threads_can_write_at_once(journal):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                _submitted(journal, fp=f"fp{n}", task_id=f"t{n}-{i}")
                journal.update(f"t{n}-{i}", state="RUNNING")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(journal.list(limit=1000)) == 80


def test_two_processes_share_one_journal(journal, state):
    script = ("import sys; from runninghub_video.journal import Journal\n"
              "j = Journal()\n"
              "for i in range(20):\n"
              "    r = j.begin('fp', 'cn', {'prompt': 'p'}, 0); j.set_task(r, f'{sys.argv[1]}-{i}', 'QUEUED')\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, name], cwd=Path(__file__).resolve().parents[1])
             for name in ("a", "b")]
    for _ in range(20):
        _submitted(journal, task_id=f"main-{time.monotonic_ns()}")
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(journal.list(limit=1000)) == 60


def test_schema_is_versioned_and_uses_wal(journal, state):
    journal.begin("fp", "cn", _request(), 0)
    conn = sqlite3.connect(state / JOURNAL_FILE)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
