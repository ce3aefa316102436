"""The task journal: a paid video survives crashes, and the same graph never pays twice."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Callable

import pytest

from ..runninghub_video.remote import config, facts
from ..runninghub_video.ledger.journal import (AMBIGUOUS, DOWNLOADED, EXPIRED, JOURNAL_FILE, REUSE_MARGIN_S, Journal,
                                      fingerprint)
from ..runninghub_video.core.money import Money

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
    """A row with a task id (the endpoint is named after the site here)."""
    return journal.record(task_id, site=site, endpoint=site, state=state, fingerprint=fp,
                          request=request or _request())


def _claimed(journal: Journal, fp: str = "fp1", variation: int = 0, request: dict | None = None) -> int:
    """A fresh claim of this process (state ``uploading``, no task id yet)."""
    claim = journal.claim(fp, "cn", site="cn", model="m", request=request or _request(), variation=variation)
    assert claim.action == "new"
    return claim.row.id


# --- fingerprint ---------------------------------------------------------------------------
FP_BASE = dict(site="cn", model="seedance-v1-lite/reference-to-video", options=BODY, reference_hashes=["h1"],
               variation=0)


def test_same_inputs_give_the_same_fingerprint():
    assert fingerprint(**FP_BASE) == fingerprint(**{**FP_BASE, "options": dict(reversed(list(BODY.items())))})
    assert len(fingerprint(**FP_BASE)) == 64


@pytest.mark.parametrize("change", [
    {"site": "ai"}, {"reference_hashes": ["h2"]}, {"reference_hashes": ["h1", "h2"]}, {"variation": 1},
    {"model": "other-model"}, {"options": {**BODY, "prompt": "a dog"}},
])
def test_any_change_that_alters_the_video_changes_the_fingerprint(change):
    assert fingerprint(**FP_BASE) != fingerprint(**{**FP_BASE, **change})


def test_reference_order_matters_for_the_fingerprint():
    assert (fingerprint(**{**FP_BASE, "reference_hashes": ["h1", "h2"]})
            != fingerprint(**{**FP_BASE, "reference_hashes": ["h2", "h1"]}))


# --- lifecycle -----------------------------------------------------------------------------
def test_nothing_is_created_until_the_first_write(state):
    journal = Journal()
    assert journal.list() == [] and journal.get("1") is None and journal.find_reusable("fp", "cn") is None
    assert journal.finished_tasks("cn") == []
    assert not state.exists()
    _claimed(journal, "fp")
    assert (state / JOURNAL_FILE).is_file()


def test_row_is_written_before_submit_and_follows_the_task(journal):
    row_id = _claimed(journal, "fp1", variation=3)
    row = journal.list()[0]
    assert (row.id, row.state, row.task_id, row.variation) == (row_id, "uploading", None, 3)
    assert journal.start_submit(row_id) and journal.row(row_id).state == "submitting"
    assert row.request["prompt"] == "a cat surfing"

    journal.set_task(row_id, "2013508786110730241", "QUEUED")
    journal.update("2013508786110730241", state="SUCCESS", result_url="https://r/out.mp4", cost=Money(Decimal("0.75"), "CNY"),
                   run_seconds="58")
    row = journal.get("2013508786110730241", "cn")
    assert row.state == "SUCCESS" and row.submitted_at and row.finished_at
    assert (row.cost, row.run_seconds) == (Money(Decimal("0.75"), "CNY"), 58.0)
    assert journal.get("2013508786110730241", "ai") is None


def test_finished_at_keeps_the_first_finish_time(journal):
    _submitted(journal, task_id="t1")
    journal.update("t1", state="SUCCESS", finished_at=1000.0)
    journal.update("t1", state=DOWNLOADED, video_path="/x.mp4")
    assert journal.get("t1").finished_at == 1000.0


def test_update_rejects_unknown_fields(journal):
    row_id = _claimed(journal, "fp")
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


@pytest.mark.parametrize("row_state", ["FAILED", "CANCEL", EXPIRED, AMBIGUOUS])
def test_failed_cancelled_expired_or_ambiguous_rows_are_never_reused(journal, row_state):
    _submitted(journal, task_id="t1", state=row_state)
    assert journal.find_reusable("fp1", "cn") is None


def test_submit_without_answer_is_not_reused(journal):
    journal.start_submit(_claimed(journal, "fp1"))
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
    journal.claim("fp1", "cn", site="cn", model="m", request=_request(), variation=0)
    assert journal.find_reusable("fp1", "cn").task_id == "new"


# --- what the estimate learns from --------------------------------------------------------
def test_finished_tasks_are_the_successes_of_the_endpoint_oldest_first_with_queue_and_run_time(journal):
    for n, (seconds, state, endpoint) in enumerate([("50", "SUCCESS", "cn"), ("60", DOWNLOADED, "cn"),
                                                    ("999", "FAILED", "cn"), ("70", "SUCCESS", "ai")]):
        journal.record(f"t{n}", site=endpoint, endpoint=endpoint, state="QUEUED", request=_request())
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
    row_id = _claimed(journal, "fp1", request=_request(apikey=FAKE_KEY, note=f"pasted {FAKE_KEY} here",
                                                       image=b"\x89PNG raw bytes"))
    journal.set_task(row_id, "t1", "QUEUED")
    journal.update("t1", state="FAILED", error_code="1002",
                   error_message=f"Authorization: Bearer {FAKE_KEY} rejected",
                   request=_request(api_key=FAKE_KEY, prompt=f"{FAKE_KEY}"))
    row = journal.get("t1")
    assert FAKE_KEY not in repr(row) and "apikey" not in row.request and "image" not in row.request
    raw = b"".join(p.read_bytes() for p in state.iterdir() if p.name.startswith(JOURNAL_FILE))
    assert raw and FAKE_KEY.encode() not in raw and b"raw bytes" not in raw


# --- concurrency and schema ----------------------------------------------------------------
def _at_once(count: int, work: Callable[[int], object]) -> list[BaseException]:
    """``work(0)`` … ``work(count - 1)`` in threads released together; what they raised."""
    raised: list[BaseException] = []
    start = threading.Barrier(count)

    def worker(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # reported by the caller
            raised.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return raised


def test_many_threads_can_write_at_once(journal):
    def write(n: int) -> None:
        for i in range(10):
            _submitted(journal, fp=f"fp{n}", task_id=f"t{n}-{i}")
            journal.update(f"t{n}-{i}", state="RUNNING")

    raised = _at_once(8, write)
    assert not raised, raised[0]
    assert len(journal.list(limit=1000)) == 80


def test_a_new_journal_opened_by_many_runs_at_once_never_reports_locked(tmp_path):
    """Two nodes of one prompt each open their own Journal; racing to create the file and switch
    it to WAL, SQLite may answer "locked" at once, without waiting for the busy timeout. A race, so
    it is run many times (without the wait in store.open_db, five runs of this test out of five failed)."""
    for attempt in range(60):
        path = tmp_path / f"fresh-{attempt}" / JOURNAL_FILE
        raised = _at_once(6, lambda n, path=path, attempt=attempt: _submitted(Journal(path), fp=f"fp{n}",
                                                                             task_id=f"t{attempt}-{n}"))
        assert not raised, raised[0]
        assert len(Journal(path).list(limit=100)) == 6


def test_two_processes_share_one_journal(journal, state):
    script = ("import sys; from runninghub_video.ledger.journal import Journal\n"
              "j = Journal()\n"
              "for i in range(20):\n"
              "    j.record(f'{sys.argv[1]}-{i}', site='cn', endpoint='cn', state='QUEUED', fingerprint='fp')\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, name], cwd=Path(__file__).resolve().parents[1])
             for name in ("a", "b")]
    for _ in range(20):
        _submitted(journal, task_id=f"main-{time.monotonic_ns()}")
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(journal.list(limit=1000)) == 60


def test_schema_is_versioned_and_uses_wal(journal, state):
    _claimed(journal, "fp")
    conn = sqlite3.connect(state / JOURNAL_FILE)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_rows_from_before_endpoints_were_recorded_are_kept_but_never_reused(state):
    """A version-1 journal cannot tell an emulator's video from the real site's: its rows stay
    listed and fetchable by id, but a new request never reuses them; an unanswered one is ambiguous."""
    state.mkdir(parents=True)
    conn = sqlite3.connect(state / JOURNAL_FILE)
    from ..runninghub_video.ledger.task_table import MIGRATIONS as _MIGRATIONS

    conn.executescript(_MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO tasks (fingerprint, site, task_id, state, created_at, updated_at)"
                 " VALUES ('fp1', 'cn', '2013508786110730241', 'RUNNING', ?, ?)", (time.time(), time.time()))
    conn.execute("INSERT INTO tasks (fingerprint, site, state, created_at, updated_at)"
                 " VALUES ('fp2', 'cn', 'submitting', ?, ?)", (time.time(), time.time()))
    conn.commit()
    conn.close()
    journal = Journal()
    assert journal.get("2013508786110730241").endpoint == ""
    assert journal.claim("fp1", "cn|https://www.runninghub.cn", site="cn", model="m", request={},
                         variation=0).action == "new"
    assert [r.state for r in journal.list() if r.fingerprint == "fp2"] == [AMBIGUOUS]


def test_costs_written_by_older_versions_read_as_money_and_add_up_exactly(state):
    """Before money was typed, a charge was stored as bare text ("0.1") with the currency column
    left NULL; such rows read in their site's currency, and the day's sum is exact."""
    from ..runninghub_video.ledger import inbox
    from ..runninghub_video.ledger.task_table import MIGRATIONS as _MIGRATIONS

    state.mkdir(parents=True)
    now = time.time()
    conn = sqlite3.connect(state / JOURNAL_FILE)
    conn.executescript(";\n".join(_MIGRATIONS) + f";\nPRAGMA user_version = {len(_MIGRATIONS)};")
    for n, (site, cost) in enumerate([("cn", "0.1"), ("cn", "0.2"), ("ai", "0.05"), ("cn", "n/a"), ("cn", "")]):
        conn.execute("INSERT INTO tasks (fingerprint, site, endpoint, task_id, state, created_at, updated_at,"
                     " finished_at, cost, currency) VALUES (?, ?, ?, ?, 'downloaded', ?, ?, ?, ?, NULL)",
                     (f"old{n}", site, site, f"20000000000000000{n:02d}", now, now, now, cost))
    conn.commit()
    conn.close()
    journal = Journal()
    assert journal.get("2000000000000000001", "cn").cost == Money(Decimal("0.2"), "CNY")
    assert journal.get("2000000000000000002", "ai").cost == Money(Decimal("0.05"), "USD")
    assert journal.get("2000000000000000003", "cn").cost is None  # unreadable text: unknown, not an error
    assert inbox.spent_today("cn", journal, now) == (Money(Decimal("0.3"), "CNY"), 2)  # not 0.30000000000000004

    row = _submitted(journal, fp="new", task_id="2000000000000000010")  # and one written today's way
    journal.update(row, state="downloaded", cost=Money(Decimal("0.4"), "CNY"))
    assert inbox.spent_today("cn", journal, now + 1) == (Money(Decimal("0.7"), "CNY"), 3)
    totals = inbox.totals(journal, now + 1)["today"]
    assert totals == [{"site": "ai", "currency": "USD", "amount": 0.05, "tasks": 1},
                      {"site": "cn", "currency": "CNY", "amount": 0.7, "tasks": 3}]  # floats: 0.7000000000000001
    shown = {v["task_id"]: (v["cost"], v["currency"]) for v in inbox.page(journal, now=now + 1)["tasks"]}
    assert shown["2000000000000000000"] == (0.1, "CNY") and shown["2000000000000000002"] == (0.05, "USD")
    assert shown["2000000000000000004"] == (None, "CNY")


def test_an_error_during_a_write_reaches_the_caller_even_when_sqlite_already_rolled_back(tmp_path):
    """SQLite ends a transaction by itself on some errors (a full disk); the rollback that follows
    then fails, and that failure must not replace the error the user has to see."""
    from ..runninghub_video.core.store import open_db

    with pytest.raises(ValueError, match="the real problem"):
        with open_db(tmp_path / "t.sqlite3", ("CREATE TABLE t (x INTEGER)",), write=True) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("ROLLBACK")  # as SQLite does itself after SQLITE_FULL
            raise ValueError("the real problem")
