"""A damaged journal never forgets a paid task: emptied, scribbled, broken in a middle page, of an
unknown schema — the file is kept aside, the journal rebuilt from its record, and every request that
may be paid stays protected and is named (task id, or "answer lost") with how to get its video.

Every test counts what RunningHub (the emulator) saw: submits received and money charged.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.ledger import inbox
from ..runninghub_video.ledger.journal import JOURNAL_FILE
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import generate

from conftest import solid_images, tasks_settled, wait_until

PRICE = 0.14  # 480p x 2 s


def _run(prompt: str, tmp_path, **kw):
    return generate([solid_images(1)], VideoRequest(prompt, duration="2", resolution="480p"), output_dir=tmp_path,
                    timeout_s=60, **kw)


def _journal() -> Path:
    return Path(os.environ["RUNNINGHUB_STATE_DIR"]) / JOURNAL_FILE


def _stopped_while_the_task_runs(rh_env, prompt: str, tmp_path) -> str:
    """A run stopped (Cancel, a closed ComfyUI) while RunningHub runs its paid task; the task id."""
    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # still running when Cancel is seen, however slow the machine
    cancel = threading.Event()
    with pytest.raises(errors.Interrupted) as info:
        _run(prompt, tmp_path, on_progress=lambda e: e.phase == "running" and cancel.set(),
             should_cancel=cancel.is_set)
    rh_env.end_tasks_now()  # it finishes on RunningHub meanwhile
    return info.value.task_id


def _emptied(path: Path) -> None:
    path.write_bytes(b"")
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)


def _header_scribbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"x" * 100
    path.write_bytes(bytes(data))


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size or 8192))


def _middle_pages_broken(path: Path) -> None:
    data = bytearray(path.read_bytes())
    assert len(data) >= 4 * 4096, "the journal should have a few pages"
    data[4096:len(data) - 4096] = b"\xff" * (len(data) - 8192)  # all but the header page and the last
    path.write_bytes(bytes(data))


def _unknown_schema(path: Path) -> None:
    _emptied(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, what TEXT)")
        conn.execute("PRAGMA user_version = 99")
    conn.close()


DAMAGE = {"emptied": _emptied, "header scribbled": _header_scribbled, "random bytes": _random_bytes,
          "middle pages broken": _middle_pages_broken, "unknown schema": _unknown_schema}


def _pad(rh_env, tmp_path, count: int = 40) -> None:
    """Earlier tasks in the journal, so it has several pages (each a fetch of a finished task);
    RunningHub finishes them at once, as nothing here is about waiting."""
    rh_env.set_clock(queue_s=0.0, run_s=0.0)
    for i in range(count):
        _run(f"earlier task {i} " + "words " * 60, tmp_path)


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_journal_still_resumes_the_paid_task_and_never_pays_again(rh_env, tmp_path, damage, caplog):
    if damage == "middle pages broken":
        _pad(rh_env, tmp_path)
    task_id = _stopped_while_the_task_runs(rh_env, f"paid then {damage}", tmp_path)
    submits = rh_env.counters.submits
    DAMAGE[damage](_journal())

    caplog.set_level(logging.WARNING)
    result = _run(f"paid then {damage}", tmp_path)  # the same graph queued again

    assert result.task_id == task_id and result.video_path.is_file() and result.resumed
    assert rh_env.counters.submits == submits
    assert task_id in caplog.text and "record" in caplog.text
    if damage != "emptied":  # a damaged file is kept aside, never deleted
        assert list(_journal().parent.glob(f"{JOURNAL_FILE}.damaged-*"))
    wait_until(lambda: tasks_settled(rh_env))
    assert rh_env.counters.money_charged == pytest.approx(PRICE * submits)


@pytest.mark.parametrize("damage", ["emptied", "header scribbled"])
def test_an_ambiguous_submit_stays_refused_after_the_journal_is_damaged(rh_env, tmp_path, damage, caplog):
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
    with pytest.raises(errors.AmbiguousSubmitError):
        _run(f"lost then {damage}", tmp_path)
    DAMAGE[damage](_journal())

    caplog.set_level(logging.WARNING)
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run(f"lost then {damage}", tmp_path)
    assert "will not send it again" in str(info.value) and "Fetch Task" in str(info.value)
    assert "answer lost" in caplog.text
    assert rh_env.counters.submits == 1
    (row,) = [t for t in inbox.page()["tasks"] if t["prompt"].startswith("lost then")]
    assert row["phase"] == "ambiguous"


def test_a_submit_killed_before_its_answer_then_the_journal_emptied_is_named_answer_lost(rh_env, tmp_path, caplog):
    """The record has the submit before it leaves: a journal that lost it still refuses to send it again."""
    rh_env.inject("submit", "timeout_after_create", seconds=60.0)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), str(ROOT / "tests"), str(tmp_path)],
                             env=dict(os.environ), stdout=subprocess.PIPE, text=True)
    wait_until(lambda: rh_env.counters.submits_accepted == 1, what="the task to be made")
    child.kill()  # killed while the answer is on its way
    child.communicate(timeout=30)
    _emptied(_journal())
    caplog.set_level(logging.WARNING)
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run("killed in submit", tmp_path)
    assert "answer lost" in str(info.value) and "answer lost" in caplog.text
    assert rh_env.counters.submits == 1


ROOT = Path(__file__).resolve().parents[1]
CHILD = textwrap.dedent("""
    import sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from conftest import FAST, solid_images
    from runninghub_video.core import waits
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest
    waits.use(FAST)
    generate([solid_images(1)], VideoRequest("killed in submit", duration="2", resolution="480p"),
             output_dir=sys.argv[3], timeout_s=60)
""")


# --- the record itself ---------------------------------------------------------------------------
def _submitted(journal, n: int) -> list[int]:
    """``n`` claims that reached the submit and got a task id; their row ids."""
    ids = []
    for i in range(n):
        claim = journal.claim(f"print {i}", "http://emulator", site="cn", model="seedance-v1-lite",
                              request={"prompt": f"request {i}"}, variation=0)
        assert journal.start_submit(claim.row.id)
        journal.set_task(claim.row.id, f"20000000000000000{i:02d}", "QUEUED")
        ids.append(claim.row.id)
    return ids


def test_a_journal_from_before_the_record_gets_one_and_then_survives_being_emptied(tmp_path):
    from ..runninghub_video.ledger.journal import Journal
    from ..runninghub_video.ledger.record import Record

    path = tmp_path / JOURNAL_FILE
    ids = _submitted(Journal(path), 3)
    Record(path).path.unlink()  # as a journal of the version before looked: no record, never synced
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE record_state SET size = -1")
    conn.close()
    assert [r.id for r in Journal(path).list()] == ids[::-1]  # first use: the record is written afresh
    assert Record(path).size() > 0
    _emptied(path)
    rows = Journal(path).list()
    assert sorted((r.id, r.task_id) for r in rows) == [(i, f"20000000000000000{n:02d}") for n, i in enumerate(ids)]


def test_the_record_is_compacted_and_still_restores_every_paid_row(tmp_path, monkeypatch):
    from ..runninghub_video.ledger import journal as journal_module
    from ..runninghub_video.ledger.record import Record

    monkeypatch.setattr(journal_module, "RECORD_COMPACT_AT", 6_000)
    path = tmp_path / JOURNAL_FILE
    ids = _submitted(journal_module.Journal(path), 12)
    assert Record(path).size() <= 6_000 + 2_000  # rewritten whenever it passed the mark
    _header_scribbled(path)
    restored = journal_module.Journal(path).list(limit=100)
    assert sorted(r.id for r in restored) == sorted(ids) and all(r.task_id for r in restored)
