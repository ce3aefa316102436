"""The API client against the emulator: answers typed, errors mapped, submits never double-charged."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from conftest import image_bytes
from ..runninghub_video.core import errors, waits
from ..runninghub_video.remote import error_codes, facts
from ..runninghub_video.remote.api import RunningHubClient
from ..runninghub_video.remote.models import V1_LITE
from ..runninghub_video.remote.config import Settings, load_settings
from ..runninghub_video.core.money import Money
from ..runninghub_video.core.redaction import redact, register_secret
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.estimate import TaskEstimate, learn
from ..runninghub_video.run.polling import TaskWait, wait_for_task
from ..runninghub_video.words import wording

# What the facts file says is passing trouble on RunningHub's side (busy, unavailable, rate limited):
# a wait rides it out. Every other documented code ends the wait with that code.
PASSING_TROUBLE = {"1000", "1003", "1005", "1010", "1011", "1012", "421"}


V1_PATH = V1_LITE.endpoint().submit_path


@pytest.fixture
def client(emulator):
    with RunningHubClient(Settings(emulator.api_key, "cn", emulator.base_url)) as c:
        yield c


def _body(client, prompt="p"):
    url = client.upload(image_bytes(), "a.png", "image/png")
    return VideoRequest(prompt, duration="2", resolution="480p").validated().body([url])


@pytest.mark.parametrize("code", sorted(error_codes.CODES))
def test_each_error_code_is_an_error_with_its_meaning_advice_and_line(client, emulator, code):
    emulator.inject("query", "error_code", code=code, message=f"server says {code}")
    with pytest.raises(errors.ApiError) as info:
        client.query("2000000000000000001")
    row = error_codes.CODES[code]
    assert isinstance(info.value, row.error) and info.value.code == code
    advice = row.advice.format(site="cn", other="ai")  # a key's advice names the site called and the other
    assert f"server says {code}" in str(info.value) and row.meaning in str(info.value) and advice in str(info.value)
    for lang, line in zip(("en", "zh"), row.line):  # the node's short line is the code's own
        assert wording.error_line(info.value, lang, site="cn") == \
            line.format(code=code, site="cn", task_id=info.value.task_id or "?") + f" · RunningHub: server says {code}"


@pytest.mark.parametrize("code", sorted(error_codes.CODES))
def test_waiting_rides_out_passing_trouble_and_stops_on_any_other_code(client, emulator, code, fast_waits):
    waits.use(replace(fast_waits, new_task_not_found_grace_s=600.0))  # no slow machine sends its query after it
    status = client.submit(_body(client), path=V1_PATH)
    emulator.inject("query", "error_code", code=code, message=f"server says {code}")
    task = TaskWait(status.task_id, TaskEstimate(learn([], 1.0), learn([], 1.0)), initial=status)
    if code in PASSING_TROUBLE or code == "1004":  # a new task might not be queryable at once [U]: its grace
        assert wait_for_task(client, task).status == facts.SUCCESS_STATE
    else:
        with pytest.raises(errors.ApiError) as info:
            wait_for_task(client, task)
        assert info.value.code == code and f"server says {code}" in str(info.value)


def test_a_task_found_once_that_is_then_not_found_ends_the_wait_with_1004(client, emulator):
    """The new task's grace is for a task no query has found yet; one that was found is gone."""
    emulator.set_clock(run_s=600.0)
    status = client.submit(_body(client), path=V1_PATH)
    emulator.inject("query", "delay", seconds=0.0)  # the first query finds it …
    emulator.inject("query", "error_code", code="1004")  # … the next one does not
    task = TaskWait(status.task_id, TaskEstimate(learn([], 1.0), learn([], 1.0)), initial=status)
    with pytest.raises(errors.TaskNotFoundError) as info:
        wait_for_task(client, task, timeout_s=60)
    assert info.value.code == "1004" and emulator.counters.queries == 2


def test_an_undocumented_code_is_still_a_clear_error(client, emulator):
    emulator.inject("query", "error_code", code="9999", message="new thing")
    with pytest.raises(errors.ServiceError, match="9999.*new thing"):
        client.query("2000000000000000001")


@pytest.mark.parametrize("code", sorted(error_codes.RESUBMIT_CODES))
def test_submit_rejected_as_busy_is_sent_again_and_charged_once(client, emulator, code, monkeypatch):
    body = _body(client)
    emulator.inject("submit", "error_code", count=2, code=code)
    status = client.submit(body, path=V1_PATH)
    assert status.task_id and emulator.counters.submits == 3 and emulator.counters.submits_accepted == 1


def test_submit_without_an_answer_is_never_sent_twice(client, emulator):
    body = _body(client)
    emulator.inject("submit", "timeout_after_create", seconds=0.2, reset=True)
    with pytest.raises(errors.AmbiguousSubmitError, match="was sent .* but the connection was reset"):
        client.submit(body, path=V1_PATH)
    assert emulator.counters.submits == 1


def test_submit_to_a_closed_port_says_nothing_was_charged():
    settings = Settings("k" * 32, "cn", "http://127.0.0.1:9")
    with RunningHubClient(settings) as c, pytest.raises(errors.TransportError) as info:
        c.submit({"prompt": "x"}, path=V1_PATH)
    assert not isinstance(info.value, errors.AmbiguousSubmitError)
    assert "Nothing was sent or charged" in str(info.value) and "connection was refused" in str(info.value)
    assert "Max retries" not in str(info.value)


def test_query_rides_out_a_burst_of_server_errors(client, emulator):
    task = client.submit(_body(client), path=V1_PATH)
    emulator.inject("query", "http_error", count=3, status=503)
    assert client.query(task.task_id).task_id == task.task_id


def test_unknown_task_is_task_not_found(client):
    with pytest.raises(errors.TaskNotFoundError, match="1004"):
        client.query("1234567890123456789")


def test_wrong_key_is_an_auth_error_that_never_shows_the_key(emulator):
    wrong = "W" * 28 + "zz99"
    register_secret(wrong)
    with RunningHubClient(Settings(wrong, "cn", emulator.base_url)) as c, pytest.raises(errors.AuthError) as info:
        c.upload(image_bytes(), "a.png", "image/png")
    assert wrong not in str(info.value)


def test_non_enterprise_key_gets_the_enterprise_shared_explanation(client, emulator):
    body = _body(client)
    emulator.key_type = "PERSONAL"
    with pytest.raises(errors.KeyTypeError, match="Enterprise-Shared"):
        client.submit(body, path=V1_PATH)


def test_status_endpoints_are_typed(client, emulator):
    queue = client.queue_status()
    assert queue.concurrent_limit == 3 and queue.api_key_type == "SHARED"
    account = client.account_status()
    assert account.balance == Money(Decimal("100.00"), "CNY")
    price = client.price_preview(_body(client), path=V1_LITE.endpoint().price_preview_path)
    assert price.price == Money(Decimal("0.14"), "CNY")  # 480p x 2 s at 0.07 CNY/s


def test_missing_key_says_where_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv("RUNNINGHUB_API_KEY", raising=False)
    monkeypatch.delenv("RUNNINGHUB_API_KEY_AI", raising=False)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path))
    for site in ("cn", "ai"):
        with pytest.raises(errors.ConfigError) as info:
            load_settings(site)
        assert "Enterprise-Shared" in str(info.value) and f"runninghub.{site}" in str(info.value)


def test_redact_masks_keys_and_bearer_tokens():
    key = "0123456789abcdef0123456789abWXYZ"
    register_secret(key)
    text = redact(f"failed with {key} and Authorization: Bearer abcdefgh12345678")
    assert key not in text and "****WXYZ" in text and "abcdefgh12345678" not in text


def test_a_retry_after_pause_inside_urllib3_wakes_for_cancel(emulator):
    """urllib3 calls Retry.sleep (its public hook, which http._CancellableRetry overrides) between
    tries; a long Retry-After must not hold a Cancel (and no thread is left blocked in it)."""
    import threading
    import time

    from ..runninghub_video.remote import http

    emulator.inject("queue_status", "http_error", count=3, status=503, retry_after=30)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(errors.Interrupted), http.cancel_scope(cancel.is_set):
        http.make_session("query").get(emulator.base_url + facts.QUEUE_STATUS_PATH, timeout=(5, 5))
    assert time.monotonic() - started < 1.5 and emulator.counters.queue_status_calls == 1


@pytest.mark.parametrize("kind, statuses_retried", [("query", 5), ("submit", 0)])
def test_the_policy_table_alone_decides_how_often_a_503_is_retried(emulator, kind, statuses_retried, monkeypatch):
    from ..runninghub_video.remote import http

    assert http.POLICIES[kind].status == statuses_retried
    session = http.make_session(kind)
    emulator.inject("queue_status", "http_error", count=20, status=503)
    answer = session.get(emulator.base_url + facts.QUEUE_STATUS_PATH, timeout=http.POLICIES[kind].timeout)
    assert answer.status_code == 503 and emulator.counters.queue_status_calls == statuses_retried + 1
