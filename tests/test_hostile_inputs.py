"""Hostile and broken inputs never cost money or data: redirects, trickling servers, plain http,
cross-origin browser requests, damaged state files, odd task ids and timeouts.

Each test counts what RunningHub (the emulator) saw: requests, submits and money charged.
"""
from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import replace

import pytest

from ..runninghub_video.remote import config, download
from ..runninghub_video.core import errors, waits
from ..runninghub_video.cli import main
from ..runninghub_video.ledger.journal import JOURNAL_FILE, Journal
from ..runninghub_video.run.pipeline import fetch_task, generate
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.ledger.upload_cache import CACHE_FILE

from conftest import image_bytes, solid_images

PRICE = 0.14
OK = VideoRequest("hostile", duration="2", resolution="480p")


def _run(tmp_path, request=OK, **kw):
    return generate([solid_images(1)], request, output_dir=tmp_path, **kw)


# --- downloads -------------------------------------------------------------------------------
def test_a_redirect_to_a_plain_http_host_is_not_followed(rh_env, tmp_path):
    rh_env.inject("download", "redirect", location="http://example.com/stolen.mp4")
    with pytest.raises(errors.DownloadError, match="redirected to a non-https address") as info:
        _run(tmp_path, timeout_s=60)
    assert info.value.task_id and "fetch" in str(info.value)
    assert not list((tmp_path / "runninghub").glob("*.mp4"))
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)
    again = fetch_task(info.value.task_id, output_dir=tmp_path)  # the paid video is still recoverable
    assert again.video_path.is_file() and rh_env.counters.submits == 1


def test_a_redirect_within_this_machine_is_followed(rh_env, tmp_path):
    first = _run(tmp_path)
    first.video_path.unlink()
    rh_env.inject("download", "redirect", location=f"{rh_env.base_url}/output/{first.task_id}.mp4")
    again = fetch_task(first.task_id, output_dir=tmp_path)
    assert again.video_path.is_file() and rh_env.counters.downloads == 3


def test_a_trickling_download_stops_at_the_time_limit(rh_env, tmp_path):
    rh_env.inject("download", "slow", bytes_per_s=300)  # the video would take over 20 s
    with pytest.raises(errors.DownloadError, match="time limit") as info:
        _run(tmp_path, timeout_s=4)
    assert info.value.task_id and f"fetch {info.value.task_id}" in str(info.value)
    assert not list((tmp_path / "runninghub").glob("*.mp4")) and not list((tmp_path / "runninghub").glob(".*"))
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_bytes_that_complete_the_download_end_it_however_late_they_are_read(rh_env, tmp_path, monkeypatch, fast_waits):
    """A loaded machine may read the last bytes long after they came: the download has them all, so it
    is no stall to retry."""
    waits.use(replace(fast_waits, stall_window_s=0.0))  # any pause between two reads is "too slow"
    monkeypatch.setattr(download, "STALL_MIN_BYTES", 64 * 1024)  # more than the whole video
    result = _run(tmp_path, timeout_s=60)
    assert result.video_path.is_file() and rh_env.counters.submits == 1


def test_a_stalled_download_is_retried_from_where_it_stopped(rh_env, tmp_path, monkeypatch, fast_waits):
    waits.use(replace(fast_waits, stall_window_s=0.5))
    monkeypatch.setattr(download, "STALL_MIN_BYTES", 64 * 1024)
    rh_env.inject("download", "slow", bytes_per_s=400)  # the whole video would take 16 s: it stalls first
    result = _run(tmp_path, timeout_s=60)
    assert result.video_path.is_file() and rh_env.counters.downloads == 2
    assert rh_env.counters.submits == 1


# --- the key's transport ---------------------------------------------------------------------
@pytest.mark.parametrize("base_url", ["http://example.com", "http://10.0.0.5:8080", "ftp://127.0.0.1"])
def test_the_key_is_never_sent_over_plain_http_to_another_machine(rh_env, tmp_path, monkeypatch, base_url):
    monkeypatch.setenv("RUNNINGHUB_BASE_URL", base_url)
    with pytest.raises(errors.ConfigError, match="Refusing to send the API key"):
        _run(tmp_path)
    assert rh_env.counters.requests_total == 0


# --- the settings routes ---------------------------------------------------------------------
@pytest.fixture
def key_route(rh_env, monkeypatch):
    from ..nodes import routes

    monkeypatch.setattr(routes, "_json", lambda data, status=200: (status, data))
    handlers: dict = {}

    class Recorder:
        def __getattr__(self, method):
            return lambda path: (lambda fn: handlers.setdefault((method.upper(), path), fn))

    routes.add_routes(Recorder())
    return handlers


class Request:
    def __init__(self, body, headers, method="POST") -> None:
        self.body, self.headers, self.method, self.query = body, {"Host": "127.0.0.1:8188", **headers}, method, {}

    async def json(self):
        import json

        return json.loads(self.body)


@pytest.mark.parametrize("headers, status", [
    ({"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403),
    ({"Content-Type": "application/json", "Origin": "https://evil.example"}, 403),
    ({"Content-Type": "application/json", "Origin": "null"}, 403),
    ({"Content-Type": "text/plain", "Origin": "http://127.0.0.1:8188"}, 415),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
], ids=["text/plain cross-origin", "json cross-origin", "opaque origin", "text/plain same origin", "form",
        "cross-site fetch"])
def test_the_key_route_refuses_writes_from_other_pages(key_route, rh_env, headers, status):
    post = key_route[("POST", "/runninghub/key")]
    body = '{"site": "cn", "key": "AttackerKey0123456789abcdefABCDEF"}'
    answer = asyncio.run(post(Request(body, headers)))
    assert answer[0] == status
    assert config.read_config_file() == {}  # nothing stored
    test = key_route[("POST", "/runninghub/key/test")]
    assert asyncio.run(test(Request('{"site": "cn"}', headers)))[0] == status
    assert rh_env.counters.requests_total == 0  # the key test (which calls RunningHub) never ran


def test_the_key_route_accepts_a_same_origin_json_write(key_route):
    post = key_route[("POST", "/runninghub/key")]
    answer = asyncio.run(post(Request('{"site": "ai", "key": "GoodKey0123456789abcdefABCDEFGHIJ"}',
                                      {"Content-Type": "application/json; charset=utf-8",
                                       "Origin": "http://127.0.0.1:8188"})))
    assert answer[0] == 200 and answer[1]["sites"]["ai"]["set"] is True


@pytest.mark.parametrize("key", ["short", "has spaces in it 0123456789", "<script>alert(1)</script>xxxxxxxx"])
def test_login_and_the_settings_route_refuse_the_same_malformed_keys(rh_env, monkeypatch, capsys, key):
    from ..nodes import routes

    with pytest.raises(errors.ValidationError, match="does not look like a RunningHub API key"):
        routes.save_key("cn", key)
    monkeypatch.setattr("getpass.getpass", lambda prompt: key)
    assert main(["login", "--site", "cn"]) == 2
    assert "does not look like a RunningHub API key" in capsys.readouterr().err
    assert not config.config_path().exists()


# --- the state folder ------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows keeps state in the user's profile")
def test_state_folder_and_files_are_private(rh_env, tmp_path):
    _run(tmp_path)
    config.write_key("ai", "PrivateKey0123456789abcdefABCDEFG")
    state = config.state_dir()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in (JOURNAL_FILE, CACHE_FILE, config.CONFIG_FILE):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    for side in state.glob("*-wal"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, side.name


def test_a_damaged_journal_is_moved_aside_named_in_the_log_and_the_run_goes_on(rh_env, tmp_path, caplog):
    state = config.state_dir()
    state.mkdir(parents=True)
    (state / JOURNAL_FILE).write_bytes(b"this is not a database " * 100)
    caplog.set_level("WARNING")
    result = _run(tmp_path)  # nothing in its record was paid: a fresh journal from then on
    assert result.video_path.is_file() and rh_env.counters.submits == 1
    (kept,) = state.glob(f"{JOURNAL_FILE}.damaged-*")
    assert "was damaged" in caplog.text and kept.name in caplog.text


def test_a_damaged_upload_cache_is_replaced_silently(rh_env, tmp_path):
    state = config.state_dir()
    state.mkdir(parents=True)
    (state / CACHE_FILE).write_bytes(b"garbage" * 500)
    result = _run(tmp_path)
    assert result.video_path.is_file() and rh_env.counters.submits == 1
    assert list(state.glob(f"{CACHE_FILE}.damaged-*"))


def test_a_damaged_config_file_is_moved_aside_and_named(rh_env, tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNINGHUB_API_KEY")
    state = config.state_dir()
    state.mkdir(parents=True)
    config.config_path().write_text('{"keys": {"cn": "abc', encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="config file .* was damaged.*Enter the key again"):
        _run(tmp_path)
    assert not config.config_path().exists() and list(state.glob("config.json.damaged-*"))
    assert rh_env.counters.requests_total == 0


def test_an_unwritable_state_folder_is_reported_before_anything_is_uploaded(rh_env, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(blocker / "state"))
    with pytest.raises(errors.ConfigError, match="(?i)state folder .* is not writable.*nothing was uploaded"):
        _run(tmp_path)
    assert rh_env.counters.requests_total == 0


# --- task ids and timeouts -------------------------------------------------------------------
@pytest.mark.parametrize("task_id", ["abc", "12 34", "2013508786110730241; rm -rf", "", "１２３４５６７"])
def test_status_and_fetch_check_the_task_id_before_any_call(rh_env, tmp_path, capsys, task_id):
    assert main(["status", task_id]) == 2
    assert main(["fetch", task_id, "--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("is not a RunningHub task id") == 2
    assert rh_env.counters.requests_total == 0


@pytest.mark.parametrize("task_id,says", [
    ("201350878611073024", "it has 18 digits and a task id has 19, such as 2013508786110730241; copy it whole"),
    ("20135087861107302411", "it has 20 digits and a task id has 19"),
    ("https://www.runninghub.ai/call-api/call-record-detail/2013508786110730241",
     "That is the address of a task of .ai (runninghub.ai), but the site chosen is .cn: choose the site ai"),
])
def test_a_task_id_with_a_digit_lost_or_of_the_other_site_is_refused_saying_what_to_do(rh_env, tmp_path, capsys,
                                                                                        task_id, says):
    """RunningHub would answer such an id with 1007 or 1004, whose words send a person elsewhere."""
    assert main(["status", task_id]) == 2
    assert main(["fetch", task_id, "--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count(says) == 2
    assert rh_env.counters.requests_total == 0


def test_a_task_id_pasted_in_groups_or_as_its_call_record_address_is_fetched(rh_env, tmp_path, capsys, monkeypatch):
    made = _run(tmp_path / "made")
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "another machine"))  # a journal that never saw it
    task_id = made.task_id
    for pasted in (f" {task_id[:4]} {task_id[4:8]} {task_id[8:12]} {task_id[12:]} ",
                   f"https://www.runninghub.cn/call-api/call-record-detail/{task_id}",
                   f"www.runninghub.cn/call-api/call-record-detail/{task_id}/?from=console"):
        assert main(["status", pasted]) == 0
        assert capsys.readouterr().out.startswith(f"task {task_id}: SUCCESS")
    assert main(["fetch", f"https://www.runninghub.cn/call-api/call-record-detail/{task_id}", "--output-dir",
                 str(tmp_path / "fetched")]) == 0
    assert capsys.readouterr().out.strip().endswith(f"_{task_id}.mp4") and rh_env.counters.submits == 1


@pytest.mark.parametrize("timeout_s", [0, -5, float("nan"), float("inf")])
def test_a_timeout_that_is_not_positive_is_refused_before_paying(rh_env, tmp_path, timeout_s):
    with pytest.raises(errors.ValidationError, match="timeout must be a positive"):
        _run(tmp_path, timeout_s=timeout_s)
    with pytest.raises(errors.ValidationError, match="timeout must be a positive"):
        fetch_task("2013508786110730241", output_dir=tmp_path, timeout_s=timeout_s)
    assert rh_env.counters.requests_total == 0


def test_the_cli_refuses_a_negative_timeout(rh_env, tmp_path, capsys):
    image = tmp_path / "a.png"
    image.write_bytes(image_bytes())
    assert main(["generate", "--image", str(image), "--prompt", "p", "--timeout-minutes", "-1",
                 "--output-dir", str(tmp_path)]) == 2
    assert "timeout must be a positive" in capsys.readouterr().err
    assert rh_env.counters.requests_total == 0 and not Journal().list()
