"""Values from outside (RunningHub's answers, old journals, the user's prompt) never crash the pack:
an amount that is no amount is "cost unknown", and every answer the tab and ``list --json`` give
stays JSON that a browser's ``JSON.parse`` accepts."""
from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import solid_images
from ..nodes import inbox_routes
from ..runninghub_video.cli import main
from ..runninghub_video.ledger import inbox
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import generate

NOT_AMOUNTS = ["1E+30", "1e400", "NaN", "Infinity", "-0.75", "lots", "9" * 5000]


def strict_json(text: str):
    """What JSON.parse accepts: no NaN, no Infinity."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def every_answer_is_json(capsys) -> dict:
    """``list --json``, the tab's page and its budget figures, each as a browser reads them."""
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    listed = strict_json(capsys.readouterr().out)
    strict_json(json.dumps(inbox_routes.tasks()))
    strict_json(json.dumps(inbox_routes.budgets()))
    return listed


@pytest.mark.parametrize("reported", NOT_AMOUNTS, ids=lambda v: v[:12])
def test_a_charge_that_is_no_amount_is_cost_unknown_and_every_answer_stays_json(rh_env, tmp_path, capsys, reported):
    rh_env.report_charge_as(reported)
    result = generate(solid_images(1), VideoRequest(prompt="a red ball", duration="2", resolution="480p"),
                      output_dir=tmp_path / "out")
    assert result.cost is None and result.video_path.is_file()
    listed = every_answer_is_json(capsys)
    assert listed["tasks"][0]["cost"] is None and listed["totals"]["today"] == []
    capsys.readouterr()
    assert main(["list"]) == 0  # the text view too
    assert result.task_id in capsys.readouterr().out


@pytest.mark.parametrize("stored", NOT_AMOUNTS + ["inf"], ids=lambda v: v[:12])
def test_a_journal_holding_a_cost_that_is_no_amount_reads_as_cost_unknown(rh_env, capsys, stored):
    journal = Journal()
    journal.record("2000000000000000001", site="cn", endpoint="cn|x", state="downloaded")
    with sqlite3.connect(journal.path) as conn:  # as an older version of the pack may have written it
        conn.execute("UPDATE tasks SET cost = ?", (stored,))
    assert journal.get("2000000000000000001").cost is None
    assert every_answer_is_json(capsys)["tasks"][0]["cost"] is None
    assert inbox.totals()["today"] == []


@pytest.mark.parametrize("reported", ["1e400", "NaN", "-5", "soon"])
def test_a_run_time_that_is_no_time_is_not_kept(rh_env, reported):
    journal = Journal()
    row = journal.record("2000000000000000002", site="cn", endpoint="cn|x", state="RUNNING")
    journal.update(row, run_seconds=reported)
    assert journal.row(row).run_seconds is None


@pytest.mark.parametrize("prompt", ["a red ball \ud800 rolls", "\udfff", "emoji half \ud83d"])
def test_a_prompt_that_cannot_be_encoded_is_refused_before_any_upload(rh_env, tmp_path, capsys, prompt):
    from ..runninghub_video.core import errors

    with pytest.raises(errors.ValidationError, match="cannot be sent") as refused:
        generate(solid_images(1), VideoRequest(prompt=prompt, duration="2", resolution="480p"),
                 output_dir=tmp_path / "out")
    assert "position" in str(refused.value) and "Nothing was uploaded or charged" in str(refused.value)
    assert rh_env.counters.requests_total == 0
    assert main(["generate", "--image", str(tmp_path / "none.png"), "--prompt", prompt]) == 2
    assert "cannot be sent" in capsys.readouterr().err
