"""The RunningHub tab's routes (nodes/inbox_routes.py) against the emulator: the inbox page, totals,
budget, thumbnails, video and one-click recovery; and the request rules of the key routes.

Like tests/test_routes.py, the route logic runs as plain functions and the aiohttp layer through a
recorder of its handlers (aiohttp is ComfyUI's, not a test dependency).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import cli_command, image_bytes, solid_images, wait_until
from ..nodes import inbox_routes
from ..runninghub_video.core import errors
from ..runninghub_video.run import pipeline
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.remote.request import VideoRequest
from .test_routes import RouteRecorder

ROOT = Path(__file__).resolve().parents[1]

PAGE = {"Host": "127.0.0.1:8188", "Origin": "http://127.0.0.1:8188", "Sec-Fetch-Site": "same-origin",
        "Content-Type": "application/json"}


class Request:
    def __init__(self, body=None, query=None, headers=None) -> None:
        self._body, self.query, self.headers = body, query or {}, dict(PAGE if headers is None else headers)

    async def json(self):
        if self._body is None:
            raise ValueError("no body")
        return self._body


@pytest.fixture
def inbox_env(rh_env, tmp_path, monkeypatch):
    """The emulator, and ComfyUI's output folder in tmp_path (where recoveries are saved)."""
    monkeypatch.setattr(inbox_routes.bridge, "output_directory", lambda: tmp_path / "output")
    inbox_routes._recoveries.clear()
    return rh_env


@pytest.fixture
def handlers(monkeypatch):
    monkeypatch.setattr(inbox_routes, "_json", lambda data, status=200: (status, data))
    monkeypatch.setattr(inbox_routes, "_answer", lambda kind, payload, status=200: (status, kind, payload))
    recorder = RouteRecorder()
    inbox_routes.add_routes(recorder)
    return lambda method, path, request: asyncio.run(recorder.handlers[(method, f"/runninghub{path}")](request))


def make_video(tmp_path, prompt="a red ball"):
    return pipeline.generate(solid_images(1), VideoRequest(prompt=prompt, duration="2", resolution="480p"),
                             output_dir=tmp_path / "output")


def wait_recovered(site, task_id):
    wait_until(lambda: not inbox_routes._recoveries.get((site, task_id), {}).get("running", True),
               what="the recovery to finish")
    return inbox_routes._recoveries[(site, task_id)]


def test_the_inbox_page_has_tasks_totals_and_budgets_but_never_the_key(inbox_env, tmp_path):
    done = make_video(tmp_path)
    page = inbox_routes.tasks()
    assert [t["task_id"] for t in page["tasks"]] == [done.task_id]
    assert page["tasks"][0]["recovering"] is False
    assert page["totals"]["today"] == [{"site": "cn", "currency": "CNY", "amount": 0.14, "tasks": 1}]
    assert page["budgets"]["cn"]["budget"] is None and page["budgets"]["cn"]["spent"] == 0.14
    assert inbox_env.api_key not in json.dumps(page)
    with pytest.raises(errors.ValidationError, match="limit"):
        inbox_routes.tasks(limit="many")
    with pytest.raises(errors.ConfigError):
        inbox_routes.tasks(site="eu")


def test_a_finished_video_has_a_first_frame_thumbnail_and_plays(inbox_env, tmp_path):
    from io import BytesIO

    from PIL import Image

    done = make_video(tmp_path)
    thumb = Image.open(BytesIO(inbox_routes.thumbnail("cn", done.task_id)))
    assert thumb.format == "JPEG" and thumb.width <= 240
    red, green, blue = thumb.convert("RGB").getpixel((thumb.width // 2, thumb.height * 3 // 4))
    assert red > 150 and green < 100  # the emulator paints the red reference into the frame
    assert inbox_routes.video_file("cn", done.task_id) == done.video_path
    done.video_path.unlink()
    with pytest.raises(errors.ValidationError, match="recover it first"):
        inbox_routes.thumbnail("cn", done.task_id)
    with pytest.raises(errors.ValidationError, match="not a RunningHub task id"):
        inbox_routes.video_file("cn", "../../etc/passwd")


def test_one_click_recovers_a_deleted_file_without_paying_again(inbox_env, tmp_path, handlers):
    done = make_video(tmp_path)
    done.video_path.unlink()
    assert inbox_routes.tasks()["tasks"][0]["recoverable"] is True
    status, answer = handlers("POST", "/tasks/recover", Request({"site": "cn", "task_id": done.task_id}))
    assert status == 200 and answer["started"] is True
    assert wait_recovered("cn", done.task_id) == {"running": False, "error": ""}
    task = inbox_routes.tasks()["tasks"][0]
    assert task["phase"] == "saved" and (tmp_path / "output").resolve() in Path(task["video_path"]).resolve().parents
    assert inbox_env.counters.submits == 1 and inbox_env.counters.money_charged == pytest.approx(0.14)


def test_a_task_killed_mid_wait_is_recovered_with_one_click_paying_nothing_more(inbox_env, tmp_path, handlers):
    """A real process is killed while it waits; the journal row it leaves is what the tab shows."""
    inbox_env.set_clock(queue_s=0.5, run_s=600.0)  # cannot finish before the kill, however slow the machine
    image = tmp_path / "ref.png"
    image.write_bytes(image_bytes(size=(64, 64)))
    proc = subprocess.Popen(cli_command("generate", "--image", image, "--prompt", "killed while waiting",
                                        "--duration", "2", "--resolution", "480p", "--output-dir", tmp_path / "out"),
                            env=dict(os.environ), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: Journal().list(1) and Journal().list(1)[0].task_id, what="the task id in the journal")
    finally:
        proc.send_signal(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        proc.wait(10)
    (task,) = inbox_routes.tasks()["tasks"]  # what the tab shows after a restart
    assert task["task_id"] and task["phase"] == "pending" and task["recoverable"] is True
    assert inbox_env.counters.submits == 1
    inbox_env.end_tasks_now()  # it finishes on RunningHub meanwhile
    status, answer = handlers("POST", "/tasks/recover", Request({"site": "cn", "task_id": task["task_id"]}))
    assert status == 200 and answer["started"] is True
    assert wait_recovered("cn", task["task_id"]) == {"running": False, "error": ""}
    assert inbox_routes.tasks()["tasks"][0]["phase"] == "saved"
    assert inbox_env.counters.submits == 1 and inbox_env.counters.money_charged == pytest.approx(0.14)


def test_an_ambiguous_submit_takes_the_task_id_found_on_the_site(inbox_env, tmp_path):
    inbox_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
    with pytest.raises(errors.AmbiguousSubmitError):
        make_video(tmp_path, "was it paid?")
    (ambiguous,) = inbox_routes.tasks()["tasks"]
    task_id = next(iter(inbox_env.tasks))  # what the user reads in the site's call records
    assert inbox_routes.recover("cn", task_id, ambiguous["row"])["started"] is True
    assert wait_recovered("cn", task_id)["error"] == ""
    (task,) = inbox_routes.tasks()["tasks"]
    assert task["row"] == ambiguous["row"] and task["task_id"] == task_id and task["phase"] == "saved"
    again = make_video(tmp_path, "was it paid?")  # the same graph queued again reuses that video
    assert again.reused and again.task_id == task_id and inbox_env.counters.submits == 1
    with pytest.raises(errors.ValidationError, match="ambiguous"):
        inbox_routes.recover("cn", task_id, ambiguous["row"])  # the row has its id now


def test_recover_this_id_unblocks_the_request_after_a_fetch_that_could_not_tell(inbox_env, tmp_path):
    for prompt in ("was it paid?", "this one too?"):  # two unanswered submits: a fetch answers neither
        inbox_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
        with pytest.raises(errors.AmbiguousSubmitError):
            make_video(tmp_path, prompt)
    wait_until(lambda: all(t.state == "SUCCESS" for t in inbox_env.tasks.values()))
    task_id = next(t for t, task in inbox_env.tasks.items() if task.body["prompt"] == "was it paid?")
    fetched = pipeline.fetch_task(task_id, output_dir=tmp_path / "output")
    assert "Recover this id" in fetched.note.text()
    row = next(t["row"] for t in inbox_routes.tasks()["tasks"] if t["prompt"] == "was it paid?")
    assert inbox_routes.recover("cn", task_id, row)["started"] is True  # the person's choice in the tab
    assert wait_recovered("cn", task_id)["error"] == ""
    again = make_video(tmp_path, "was it paid?")
    assert again.reused and again.task_id == task_id and inbox_env.counters.submits == 2


def test_recover_this_id_refuses_the_task_of_another_request(inbox_env, tmp_path):
    done = make_video(tmp_path, "a paid request")
    inbox_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
    with pytest.raises(errors.AmbiguousSubmitError):
        make_video(tmp_path, "was it paid?")
    row = next(t["row"] for t in inbox_routes.tasks()["tasks"] if t["phase"] == "ambiguous")
    with pytest.raises(errors.ValidationError, match="another request"):
        inbox_routes.recover("cn", done.task_id, row)
    with pytest.raises(errors.AmbiguousSubmitError):
        make_video(tmp_path, "was it paid?")


def test_a_failed_recovery_says_why(inbox_env, tmp_path):
    Journal().record("2000000000000000003", site="cn", endpoint="cn", state="RUNNING", fingerprint="fp",
                          request={"prompt": "x"})
    inbox_routes.recover("cn", "2000000000000000003")
    assert "1004" in wait_recovered("cn", "2000000000000000003")["error"] or \
        "not found" in inbox_routes._recoveries[("cn", "2000000000000000003")]["error"].lower()
    assert inbox_routes.tasks()["tasks"][0]["recover_error"]


def test_budget_routes_set_show_and_turn_off_the_budget(inbox_env, handlers):
    status, data = handlers("POST", "/budget", Request({"site": "cn", "amount": 3}))
    assert status == 200 and data["sites"]["cn"]["budget"] == 3.0 and data["sites"]["ai"]["budget"] is None
    status, data = handlers("GET", "/budget", Request())
    assert data["sites"]["cn"] == {"site": "cn", "currency": "CNY", "budget": 3.0, "spent": 0.0,
                                   "charged_tasks": 0, "running": 0.0, "running_tasks": 0, "unpriced_tasks": 0}
    status, data = handlers("POST", "/budget", Request({"site": "cn", "amount": "lots"}))
    assert status == 400 and "daily budget" in data["error"]
    status, data = handlers("POST", "/budget", Request({"site": "cn", "amount": None}))
    assert data["sites"]["cn"]["budget"] is None


def test_settings_set_the_budget_again_over_a_damaged_file_kept_aside_and_the_next_run_passes(inbox_env, handlers,
                                                                                              tmp_path):
    from ..runninghub_video.run import spend

    path = spend.budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    status, data = handlers("GET", "/budget", Request(query={"locale": "zh"}))
    assert data["code"] == "budget_file" and "重新设置预算" in data["error"]
    for body in ({"site": "cn"}, {"site": "cn", "amount": ""}, {"site": "cn", "amount": "lots"},
                 {"site": "cn", "amount": 2, "no_budget": True}):  # never read as "no budget"
        status, data = handlers("POST", "/budget/reset", Request(body))
        assert status == 400 and data["error"], body
    assert path.read_text() == "{not json" and not list(path.parent.glob("budget.json.damaged-*"))
    status, data = handlers("POST", "/budget/reset", Request({"site": "cn", "amount": 2, "locale": "zh-CN"}))
    (kept,) = path.parent.glob("budget.json.damaged-*")
    assert status == 200 and data["kept_as"] == str(kept) and kept.read_text() == "{not json"
    assert data["note"] == (f"损坏的预算文件已另存为 {kept}；预算已写入新文件。"
                            "该文件未能说明 .ai 的预算：已设为 0（该站点的运行都会被拒绝），请重新设置。")
    assert data["sites"]["cn"]["budget"] == 2.0 and data["sites"]["ai"]["budget"] == 0.0 and "error" not in data
    done = make_video(tmp_path, "allowed under the new budget")
    assert done.task_id and inbox_env.counters.submits == 1
    status, data = handlers("POST", "/budget/reset", Request({"site": "cn", "no_budget": True}))
    assert (status, data["kept_as"], data["note"]) == (200, "", "")  # a sound file: set as usual
    assert data["sites"]["cn"]["budget"] is None and data["sites"]["ai"]["budget"] == 0.0


@pytest.mark.parametrize("method,path,body", [("POST", "/budget", {"site": "cn", "amount": 1}),
                                              ("POST", "/budget/reset", {"site": "cn", "amount": 1}),
                                              ("POST", "/tasks/recover", {"site": "cn", "task_id": "2000000000000000004"})])
def test_writes_need_json_from_comfyuis_own_page(inbox_env, handlers, method, path, body):
    for headers, refused in (({**PAGE, "Content-Type": "text/plain"}, (415, "send JSON")),  # a form post from any page
                             ({**PAGE, "Origin": "http://evil.example"}, (403, "same origin")),
                             ({**PAGE, "Sec-Fetch-Site": "cross-site"}, (403, "same origin"))):
        status, data = handlers(method, path, Request(body, headers=headers))
        assert (status, refused[1] in data["error"]) == (refused[0], True)
    assert inbox_routes.budgets()["sites"]["cn"]["budget"] is None and not inbox_routes._recoveries


def test_reads_refuse_another_sites_page(inbox_env, handlers, tmp_path):
    done = make_video(tmp_path)
    foreign = {"Host": "127.0.0.1:8188", "Origin": "http://evil.example"}
    for path, query in (("/tasks", {}), ("/tasks/thumb", {"site": "cn", "task_id": done.task_id}),
                        ("/tasks/video", {"site": "cn", "task_id": done.task_id}), ("/budget", {})):
        assert handlers("GET", path, Request(query=query, headers=foreign))[0] == 403
    status, data = handlers("GET", "/tasks", Request(query={"limit": "1"}, headers={"Host": "127.0.0.1:8188"}))  # curl
    assert status == 200 and data["tasks"][0]["task_id"] == done.task_id
    status, kind, payload = handlers("GET", "/tasks/video", Request(query={"site": "cn", "task_id": done.task_id}))
    assert (status, kind, payload) == (200, "file", done.video_path)


def test_a_run_refused_by_the_budget_says_why_in_the_tabs_language(inbox_env, handlers, tmp_path):
    from ..runninghub_video.run import spend
    from ..runninghub_video.words import wording

    spend.set_daily_budget("cn", "0.01")
    with pytest.raises(spend.BudgetExceededError):
        make_video(tmp_path)
    reasons = {locale: inbox_routes.tasks(locale=locale)["tasks"][0]["error"] for locale in ("en", "zh-CN")}
    assert reasons == {
        "en": "refused before any upload: this run (0.14 CNY) would pass the daily budget of .cn; raise or turn it "
              "off in Settings → RunningHub",
        "zh-CN": "已在上传前拒绝：本次运行（0.14 元）会超过 .cn 的每日预算；可在 设置 → RunningHub 中调高或关闭"}
    status, data = handlers("GET", "/tasks", Request(query={"locale": "zh"}))
    assert (status, data["tasks"][0]["error"]) == (200, reasons["zh-CN"])
    assert wording.row_reason("budget_unchecked", "ai", "zh") == "已在上传前拒绝：.ai 每日预算所需的价格未知"
    assert inbox_env.counters.uploads == 0


def test_a_budget_refusal_reads_with_its_figures_in_the_users_language():
    from ..runninghub_video.words import wording
    from ..runninghub_video.core.money import Money
    from ..runninghub_video.run.spend import BudgetExceededError, Day

    def cny(amount: str) -> Money:
        return Money(Decimal(amount), "CNY")

    day = Day("cn", budget=cny("1.5"), spent=cny("1.1"), charged_tasks=2, running=cny("0"), running_tasks=0)
    refusal = BudgetExceededError("refused", day=day, price=cny("0.75"), price_source="preview")
    assert wording.error_line(refusal, "en", site="cn").startswith(
        "refused before any upload: this run (0.75 CNY) and today's spend on .cn (1.10 CNY")
    zh = wording.error_line(refusal, "zh", site="cn")
    assert "已在上传前拒绝" in zh and "0.75 元" in zh and "每日预算 1.50 元" in zh and "尚未报账" not in zh
    refusal.day = dataclasses.replace(day, running=cny("0.75"), running_tasks=1)
    assert "(1.10 CNY, +0.75 CNY not reported yet)" in wording.error_line(refusal, "en", site="cn")
    assert "（1.10 元，另有尚未报账 0.75 元）" in wording.error_line(refusal, "zh", site="cn")


def test_a_failed_task_and_a_refused_submit_read_as_the_node_said_them_in_the_tabs_language(inbox_env, tmp_path):
    inbox_env.fail_next_tasks("1501", message="sensitive content")
    with pytest.raises(errors.TaskFailedError):
        make_video(tmp_path, "refused by moderation")
    inbox_env.inject("submit", "error_code", code="1007")
    with pytest.raises(errors.ApiError):
        make_video(tmp_path, "bad options")
    rejected, failed = inbox_routes.tasks(locale="zh-CN")["tasks"]
    assert failed["error"] == "内容审核未通过（1501），未扣费：请修改提示词或参考图 · RunningHub: sensitive content"
    assert rejected["error"] == "RunningHub 拒绝了参数（1007）：请检查提示词、参考图和选项"
    assert "RunningHub error 1007" in rejected["error_detail"]  # the English the journal keeps, on hover
    rejected, failed = inbox_routes.tasks(locale="en")["tasks"]
    assert failed["error"] == "refused by moderation (1501), not charged: change the prompt or references · " \
                              "RunningHub: sensitive content"
    assert rejected["error"] == "RunningHub rejected the options (1007): check prompt, references and options"


def test_a_new_task_runninghub_cannot_find_yet_stays_recoverable_and_says_so_in_the_tabs_language(
        inbox_env, tmp_path):
    inbox_env.inject("submit", "not_found_at_first", seconds=600)
    with pytest.raises(errors.TaskNotFoundError) as info:
        make_video(tmp_path, "not found yet")
    task_id = info.value.task_id
    rows = {locale: inbox_routes.tasks(locale=locale)["tasks"][0] for locale in ("en", "zh-CN")}
    assert rows["en"]["task_id"] == task_id and rows["en"]["phase"] == "pending" and rows["en"]["recoverable"]
    assert rows["en"]["error"] == (f"RunningHub made task {task_id} but cannot find it yet (1004); it is not sent "
                                   "again: queue again later to ask once more, or fetch it with RunningHub Fetch Task")
    assert rows["zh-CN"]["error"].startswith(f"RunningHub 已创建任务 {task_id}，但暂时查询不到（1004）")
    inbox_env.skip(600)  # RunningHub shows it at last: queued again, the row is the saved video, its mark gone
    assert make_video(tmp_path, "not found yet").task_id == task_id
    row = inbox_routes.tasks(locale="en")["tasks"][0]
    assert (row["phase"], row["error"]) == ("saved", "") and inbox_env.counters.submits == 1


def test_a_budget_refusal_journaled_before_rows_kept_its_code_reads_in_the_tabs_language(inbox_env, tmp_path):
    """Rows written by the pack of 2026-12-06 20:07-20:39 UTC: an English message, no code, no price."""
    from ..runninghub_video.run import spend

    spend.set_daily_budget("cn", "0.01")
    for prompt in ("over", "unpriced", "damaged"):
        with pytest.raises(errors.RunningHubError):
            make_video(tmp_path, prompt)
    journal = Journal()
    over, unpriced, damaged = sorted(journal.list(3), key=lambda row: row.id)
    earlier = {over.id: "Refused before uploading anything: this run costs 0.14 CNY (price preview); spent today on "
                        ".cn: 0.00 CNY. Together that passes your daily budget of 0.01 CNY.",
               unpriced.id: "The price of this run is unknown (no price preview, no published price for .cn), so it "
                            "cannot be checked against your daily budget of 0.01 CNY. Nothing was uploaded or charged.",
               damaged.id: "The budget file /state/budget.json is damaged (not JSON: …), so no run is checked "
                           "against it: every run is refused. Fix or delete the file."}
    for row_id, message in earlier.items():  # as the earlier version left them
        journal.update(row_id, error_code=None, price=None, error_message=message)
    reasons = {task["row"]: task["error"] for task in inbox_routes.tasks(locale="zh")["tasks"]}
    assert reasons == {over.id: "已在上传前拒绝：本次运行（0.14 元）会超过 .cn 的每日预算；可在 设置 → RunningHub 中调高或关闭",
                       unpriced.id: "已在上传前拒绝：.cn 每日预算所需的价格未知",
                       damaged.id: "已在上传前拒绝：当时预算文件已损坏或无法读取"}
    assert inbox_env.counters.uploads == 0
