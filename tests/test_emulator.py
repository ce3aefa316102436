"""The emulator's own contract: wire shapes, validation, faults, scheduling and result videos."""
from __future__ import annotations

import io
import threading
import time

import pytest
import requests

from ..runninghub_video.remote import facts
from ..runninghub_video.remote.models import V1_LITE
from ..runninghub_video.emulator import Emulator
from ..runninghub_video.emulator.video import MARKER_ZONE

from conftest import image_bytes, wait_until

MSG_1004 = "Task not found, please check the task ID | 任务不存在或已过期，请检查任务ID"


def auth(emu: Emulator) -> dict:
    return {"Authorization": f"Bearer {emu.api_key}"}


def upload(emu: Emulator, data: bytes, name: str = "ref.png", key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {key or emu.api_key}"}
    return requests.post(emu.base_url + facts.UPLOAD_PATH, headers=headers,
                         files={"file": (name, data, "image/png")}, timeout=10).json()


def body_for(urls: list[str], **over: str) -> dict:
    body = {"prompt": "a red fox runs", "imageUrls": urls, "duration": "2", "cameraFixed": "false",
            "resolution": "480p", "aspectRatio": "16:9"}
    body.update(over)
    return body


def post(emu: Emulator, path: str, body: object, **kw) -> requests.Response:
    return requests.post(emu.base_url + path, headers=auth(emu), json=body, timeout=kw.pop("timeout", 10), **kw)


def submit(emu: Emulator, body: dict) -> dict:
    return post(emu, V1_LITE.endpoint().submit_path, body).json()


def query(emu: Emulator, task_id: str) -> dict:
    return post(emu, facts.QUERY_PATH, {"taskId": task_id}).json()


def wait_done(emu: Emulator, task_id: str) -> dict:
    """The query's answer once the task has ended."""
    last: list[dict] = []

    def ended() -> bool:
        last[:] = [query(emu, task_id)]
        return last[0]["status"] not in facts.PENDING_STATES

    wait_until(ended, what=f"task {task_id} to end")
    return last[0]


@pytest.fixture
def emu():
    with Emulator(queue_s=0.05, run_s=0.1) as emulator:
        yield emulator


@pytest.fixture
def ref_url(emu):
    return upload(emu, image_bytes((200, 30, 40)))["data"]["download_url"]


# --- upload ---------------------------------------------------------------------------------
def test_upload_returns_download_url_that_serves_the_same_bytes(emu):
    data = image_bytes((10, 120, 200))
    reply = upload(emu, data)
    assert reply["code"] == 0 and reply["message"] == "success"
    info = reply["data"]
    assert info["type"] == "image" and info["size"] == str(len(data))
    assert info["download_url"].startswith(emu.base_url + "/files/") and info["download_url"].endswith(".png")
    assert info["fileName"].startswith("openapi/")
    assert emu.uploads[info["download_url"]] == data
    assert requests.get(info["download_url"], timeout=10).content == data
    assert emu.counters.uploads == 1 and emu.counters.upload_bytes == len(data)


def test_upload_accepts_jpeg_and_rejects_other_formats(emu):
    assert upload(emu, image_bytes((1, 2, 3), "JPEG"), "a.jpg")["data"]["download_url"].endswith(".jpg")
    reply = upload(emu, b"GIF89a not an accepted format")
    assert reply["code"] != 0 and reply["data"] is None


def test_chunked_upload_is_accepted(emu):
    data = image_bytes((7, 8, 9))
    boundary = "xyzBOUNDARY"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
               f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    headers = {**auth(emu), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    reply = requests.post(emu.base_url + facts.UPLOAD_PATH, headers=headers,
                          data=iter([payload[:50], payload[50:]]), timeout=10).json()
    assert reply["code"] == 0 and emu.uploads[reply["data"]["download_url"]] == data


def test_upload_over_10_mb_is_refused_with_809(emu):
    data = image_bytes((1, 2, 3)) + b"\0" * facts.MAX_UPLOAD_BYTES
    assert upload(emu, data)["code"] == 809


def test_upload_with_wrong_key_gets_401_body(emu):
    reply = upload(emu, image_bytes((1, 2, 3)), key="x" * 32)
    assert reply["code"] == 401 and reply["message"].startswith("ApiKey verification failed")


# --- submit, query, charge ------------------------------------------------------------------
def test_task_runs_to_success_and_is_charged_once(emu, ref_url):
    reply = submit(emu, body_for([ref_url]))
    task_id = reply["taskId"]
    assert len(task_id) == 19 and task_id.isdigit()
    assert reply["status"] in facts.PENDING_STATES and reply["errorCode"] == "" and reply["results"] is None
    assert reply["clientId"] and isinstance(reply["promptTips"], str)
    done = wait_done(emu, task_id)
    assert done["status"] == "SUCCESS" and done["errorCode"] == ""
    assert done["usage"]["consumeMoney"] == "0.14" and isinstance(done["usage"]["taskCostTime"], str)
    assert done["results"] == [{"url": f"{emu.base_url}/output/{task_id}.mp4", "nodeId": "2",
                                "outputType": "mp4", "text": None}]
    query(emu, task_id)
    counters = emu.counters.snapshot()
    assert counters["money_charged"] == pytest.approx(0.14)
    assert counters["submits"] == counters["submits_accepted"] == 1
    assert emu.tasks[task_id].body["prompt"] == "a red fox runs"


@pytest.mark.parametrize("override", [
    {"prompt": ""}, {"prompt": "x" * (V1_LITE.prompt_max_chars + 1)}, {"duration": 5}, {"duration": "13"},
    {"duration": "1"}, {"resolution": "1080p"}, {"aspectRatio": "2:1"}, {"cameraFixed": True},
    {"cameraFixed": "yes"}, {"imageUrls": []},
])
def test_invalid_submit_is_refused_with_1007_and_no_task(emu, ref_url, override):
    reply = submit(emu, body_for([ref_url], **override))
    assert reply["errorCode"] == "1007" and reply["taskId"] == "" and reply["status"] == ""
    assert "|" in reply["errorMessage"]  # bilingual
    assert emu.counters.submits_accepted == 0


def test_submit_accepts_any_https_reference_but_not_unissued_local_ones(emu, ref_url):
    assert submit(emu, body_for(["https://example.com/x.png"]))["errorCode"] == ""  # as the API does [S]
    assert submit(emu, body_for(["http://example.com/x.png"]))["errorCode"] == "1007"
    assert submit(emu, body_for([emu.base_url + "/files/nothing.png"]))["errorCode"] == "1007"
    assert submit(emu, body_for([ref_url] * 5))["errorCode"] == "1007"
    assert submit(emu, body_for([ref_url] * 4))["errorCode"] == ""


def test_wrong_key_submit_gets_1002(emu, ref_url):
    r = requests.post(emu.base_url + V1_LITE.endpoint().submit_path, headers={"Authorization": "Bearer " + "k" * 32},
                      json=body_for([ref_url]), timeout=10)
    assert r.status_code == 200 and r.json()["errorCode"] == "1002"


def test_non_shared_key_gets_1014_on_model_calls(emu, ref_url):
    emu.key_type = "PERSONAL"
    for path in (V1_LITE.endpoint().submit_path, V1_LITE.endpoint().price_preview_path):
        reply = post(emu, path, body_for([ref_url])).json()
        assert reply["errorCode"] == "1014" and "Enterprise-Shared" in reply["errorMessage"]
    assert requests.get(emu.base_url + facts.QUEUE_STATUS_PATH, headers=auth(emu),
                        timeout=10).json()["data"]["apiKeyType"] == "PERSONAL"


def test_unknown_task_gets_exact_1004_and_malformed_id_1007(emu):
    assert query(emu, "2" * 19) == {"taskId": "2" * 19, "status": "", "errorCode": "1004",
                                    "errorMessage": MSG_1004, "results": None}
    assert query(emu, "12345")["errorCode"] == "1007"


def test_a_new_task_not_found_at_first_answers_as_an_unknown_task_then_as_itself(emu, ref_url):
    """For its first queries, then for its first seconds (``skip`` moves it on)."""
    unknown = query(emu, "2" * 19)
    emu.inject("submit", "not_found_at_first", queries=2)
    task_id = submit(emu, body_for([ref_url]))["taskId"]
    assert [query(emu, task_id) for _ in range(2)] == [{**unknown, "taskId": task_id}] * 2
    assert query(emu, task_id)["status"] in facts.PENDING_STATES | {facts.SUCCESS_STATE}
    emu.inject("submit", "not_found_at_first", seconds=600)
    later = submit(emu, body_for([ref_url]))["taskId"]
    assert query(emu, later) == {**unknown, "taskId": later} and emu.tasks[later].not_found_answers == 1
    emu.skip(600)
    assert query(emu, later)["status"] == facts.SUCCESS_STATE
    with pytest.raises(ValueError):
        emu.inject("query", "not_found_at_first", queries=1)


def test_expired_results_answer_1004_and_404(emu, ref_url):
    task_id = submit(emu, body_for([ref_url]))["taskId"]
    url = wait_done(emu, task_id)["results"][0]["url"]
    emu.expire_results()
    assert query(emu, task_id)["errorCode"] == "1004"
    assert requests.get(url, timeout=10).status_code == 404


def test_expired_uploads_fail_submit_with_1013(emu, ref_url):
    emu.expire_uploads()
    assert requests.get(ref_url, timeout=10).status_code == 404
    assert submit(emu, body_for([ref_url]))["errorCode"] == "1013"


def test_expired_uploads_seen_by_the_task_fail_it_with_1013_uncharged(emu, ref_url):
    emu.expire_uploads(seen_at="task")
    task_id = submit(emu, body_for([ref_url]))["taskId"]
    done = wait_done(emu, task_id)
    assert done["status"] == "FAILED" and done["errorCode"] == "1013" and emu.counters.money_charged == 0


@pytest.mark.parametrize("field", ["consumeMoney", "thirdPartyConsumeMoney"])
def test_the_charge_arrives_in_the_usage_field_asked_for(emu, ref_url, field):
    emu.charge_in(field)
    done = wait_done(emu, submit(emu, body_for([ref_url]))["taskId"])
    other = {"consumeMoney", "thirdPartyConsumeMoney"} - {field}
    assert done["usage"][field] == "0.14" and done["usage"][other.pop()] is None


def test_the_echo_key_fault_repeats_the_callers_key(emu, ref_url):
    emu.inject("submit", "echo_key")
    reply = submit(emu, body_for([ref_url]))
    assert reply["errorCode"] == "1000" and emu.api_key in reply["errorMessage"]


def test_failed_tasks_report_code_and_reason_and_are_not_charged(emu, ref_url):
    emu.fail_next_tasks(code="1501", count=1)
    emu.fail_next_tasks(code="1505", at="submit")
    running_fail = submit(emu, body_for([ref_url]))
    submit_fail = submit(emu, body_for([ref_url]))
    assert submit_fail["status"] == "FAILED" and submit_fail["errorCode"] == "1505"
    done = wait_done(emu, running_fail["taskId"])
    assert done["status"] == "FAILED" and done["errorCode"] == "1501"
    assert done["failedReason"]["exception_message"] == done["errorMessage"] and done["results"] is None
    ok = wait_done(emu, submit(emu, body_for([ref_url]))["taskId"])
    assert ok["status"] == "SUCCESS"
    assert emu.counters.money_charged == pytest.approx(0.14)


def test_reference_that_does_not_decode_fails_the_task_with_1013(emu):
    url = upload(emu, b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)["data"]["download_url"]
    done = wait_done(emu, submit(emu, body_for([url]))["taskId"])
    assert done["status"] == "FAILED" and done["errorCode"] == "1013"


def test_set_clock_accepts_callables_of_the_body(emu, ref_url):
    emu.set_clock(queue_s=lambda body: 0.0, run_s=lambda body: 0.0 if body["duration"] == "2" else 60.0)
    assert submit(emu, body_for([ref_url]))["status"] == "SUCCESS"
    assert submit(emu, body_for([ref_url], duration="3"))["status"] == "RUNNING"


# --- account, queue, price ------------------------------------------------------------------
def test_queue_and_account_status_shapes(emu, ref_url):
    emu.set_clock(run_s=600.0)  # still counted as current when the queue status is asked, however slow the machine
    submit(emu, body_for([ref_url]))
    q = requests.get(emu.base_url + facts.QUEUE_STATUS_PATH, headers=auth(emu), timeout=10).json()
    assert q["code"] == 0 and q["msg"] == "success"
    data = q["data"]
    assert data["apiKeyType"] == "SHARED" and data["concurrentLimit"] == 3
    assert data["totalCurrentTasks"] == "1" and {data["runningCount"], data["queuedCount"]} == {"0", "1"}
    a = requests.post(emu.base_url + facts.ACCOUNT_STATUS_PATH, json={"apikey": emu.api_key}, timeout=10).json()
    assert a["code"] == 0
    assert a["data"]["remainMoney"] == "100.00" and a["data"]["currency"] == "CNY"
    assert a["data"]["apiType"] == "SHARED" and isinstance(a["data"]["remainCoins"], str)
    bad = requests.post(emu.base_url + facts.ACCOUNT_STATUS_PATH, json={"apikey": "nope"}, timeout=10).json()
    assert bad["code"] == 401
    assert emu.counters.queue_status_calls == 1 and emu.counters.account_status_calls == 2


def test_price_preview_uses_published_per_second_price(emu, ref_url):
    reply = post(emu, V1_LITE.endpoint().price_preview_path, body_for([ref_url], resolution="720p", duration="5")).json()
    assert reply == {"errorCode": 0, "errorMessage": "", "estimatedPrice": 0.75, "currency": "CNY",
                     "priceText": "0.75 元"}
    assert post(emu, V1_LITE.endpoint().price_preview_path, body_for([ref_url], duration="0")).json()["errorCode"] == "1007"
    assert emu.counters.price_previews == 2 and emu.counters.submits_accepted == 0


def test_a_usd_emulator_prices_and_charges_in_its_own_figures_not_relabelled_cny():
    """.ai publishes no table: the emulator's USD price is its own invention, distinct from the CNY one."""
    with Emulator(queue_s=0.05, run_s=0.05, currency="USD") as usd:
        ref = "https://example.com/any-public-reference.png"  # any https URL is a valid reference
        reply = post(usd, V1_LITE.endpoint().price_preview_path, body_for([ref], resolution="720p", duration="5")).json()
        assert reply["currency"] == "USD" and reply["estimatedPrice"] == 0.11 and reply["priceText"] == "$0.11"
        done = wait_done(usd, submit(usd, body_for([ref], resolution="720p", duration="5"))["taskId"])
        assert float(done["usage"]["consumeMoney"]) == 0.11 and usd.counters.money_charged == pytest.approx(0.11)


# --- concurrency ----------------------------------------------------------------------------
def test_tasks_over_the_concurrency_limit_wait_in_queue():
    with Emulator(queue_s=0.0, run_s=600.0, concurrent_limit=1) as emu:  # the first runs until it is ended
        url = upload(emu, image_bytes((5, 5, 5)))["data"]["download_url"]
        first = submit(emu, body_for([url]))["taskId"]
        second = submit(emu, body_for([url]))["taskId"]
        assert query(emu, first)["status"] == "RUNNING"
        assert query(emu, second)["status"] == "QUEUED"
        data = requests.get(emu.base_url + facts.QUEUE_STATUS_PATH, headers=auth(emu), timeout=10).json()["data"]
        assert (data["runningCount"], data["queuedCount"], data["totalCurrentTasks"]) == ("1", "1", "2")
        emu.end_tasks_now()
        assert wait_done(emu, first)["status"] == "SUCCESS"
        assert wait_done(emu, second)["status"] == "SUCCESS"
        t1, t2 = emu.tasks[first], emu.tasks[second]
        assert t2.start >= t1.end  # never two running at once


def test_over_limit_reject_answers_421_without_creating_a_task():
    with Emulator(queue_s=0.0, run_s=600.0, concurrent_limit=1, over_limit="reject") as emu:
        url = upload(emu, image_bytes((5, 5, 5)))["data"]["download_url"]
        assert submit(emu, body_for([url]))["errorCode"] == ""
        reply = submit(emu, body_for([url]))
        assert reply["errorCode"] == "421" and reply["taskId"] == ""
        assert emu.counters.submits == 2 and emu.counters.submits_accepted == 1


# --- downloads ------------------------------------------------------------------------------
@pytest.fixture
def result(emu, ref_url):
    task_id = submit(emu, body_for([ref_url]))["taskId"]
    url = wait_done(emu, task_id)["results"][0]["url"]
    full = requests.get(url, timeout=30)
    # the emulator counts a body just after its last byte is sent, which the client may see first
    wait_until(lambda: emu.counters.download_bytes >= len(full.content), what="the download to be counted")
    return url, full


def test_result_download_supports_ranges(emu, result):
    url, full = result
    size = len(full.content)
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    assert full.headers["Content-Type"] == "video/mp4" and int(full.headers["Content-Length"]) == size
    part = requests.get(url, headers={"Range": "bytes=100-"}, timeout=10)
    assert part.status_code == 206 and part.content == full.content[100:]
    assert part.headers["Content-Range"] == f"bytes 100-{size - 1}/{size}"
    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=10)
    assert tail.status_code == 206 and tail.content == full.content[-10:]
    assert requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10).status_code == 416
    assert emu.counters.download_bytes == 2 * size - 100 + 10


def test_result_is_not_served_before_success(emu, ref_url):
    emu.set_clock(queue_s=600.0)
    task_id = submit(emu, body_for([ref_url]))["taskId"]
    assert requests.get(f"{emu.base_url}/output/{task_id}.mp4", timeout=10).status_code == 404


# --- faults ---------------------------------------------------------------------------------
def test_http_error_fault_is_consumed_per_request(emu, ref_url):
    emu.inject("query", "http_error", count=2, status=503, retry_after=3, body="busy")
    for _ in range(2):
        r = post(emu, facts.QUERY_PATH, {"taskId": "2" * 19})
        assert r.status_code == 503 and r.headers["Retry-After"] == "3" and r.text == "busy"
    assert query(emu, "2" * 19)["errorCode"] == "1004"


def test_reset_fault_drops_the_connection(emu, ref_url):
    emu.inject("upload", "reset")
    with pytest.raises(requests.ConnectionError):
        upload(emu, image_bytes((9, 9, 9)))
    assert upload(emu, image_bytes((9, 9, 9)))["code"] == 0


def test_error_code_fault_answers_in_each_endpoint_family(emu, ref_url):
    emu.inject("submit", "error_code", code="1011", message="busy | 忙")
    emu.inject("upload", "error_code", code="1003")
    emu.inject("queue_status", "error_code", code="1010")
    reply = submit(emu, body_for([ref_url]))
    assert reply["errorCode"] == "1011" and reply["errorMessage"] == "busy | 忙" and reply["taskId"] == ""
    assert upload(emu, image_bytes((1, 1, 1)))["code"] == 1003
    r = requests.get(emu.base_url + facts.QUEUE_STATUS_PATH, headers=auth(emu), timeout=10)
    assert r.status_code == 200 and r.json()["code"] == 1010
    assert emu.counters.submits_accepted == 0


def test_delay_fault_answers_late_but_normally(emu):
    emu.inject("query", "delay", seconds=0.3)
    started = time.monotonic()
    assert query(emu, "2" * 19)["errorCode"] == "1004"
    assert time.monotonic() - started >= 0.3


def test_slow_and_truncated_downloads(emu, result):
    url, full = result
    emu.inject("download", "slow", bytes_per_s=len(full.content) * 4)
    assert requests.get(url, timeout=10).content == full.content
    emu.inject("download", "truncate", fraction=0.5)
    with pytest.raises(requests.RequestException):
        requests.get(url, timeout=10)  # the body is read here: a cut-short one raises
    assert requests.get(url, timeout=10).content == full.content


def test_truncated_download_can_be_resumed_with_a_range(emu, result):
    url, full = result
    before = emu.counters.download_bytes
    emu.inject("download", "truncate", fraction=0.5)
    got = b""
    with pytest.raises(requests.RequestException):
        with requests.get(url, stream=True, timeout=10) as r:
            assert int(r.headers["Content-Length"]) == len(full.content)
            for chunk in r.iter_content(1024):
                got += chunk
    assert emu.counters.download_bytes - before == len(full.content) // 2
    assert 0 < len(got) <= len(full.content) // 2 and full.content.startswith(got)
    rest = requests.get(url, headers={"Range": f"bytes={len(got)}-"}, timeout=10)
    assert rest.status_code == 206 and got + rest.content == full.content


def test_timeout_after_create_leaves_a_task_behind(emu, ref_url):
    emu.inject("submit", "timeout_after_create", seconds=600.0)  # no answer before the client's 0.3 s, however slow
    with pytest.raises(requests.Timeout):
        post(emu, V1_LITE.endpoint().submit_path, body_for([ref_url]), timeout=0.3)
    emu.inject("submit", "timeout_after_create", seconds=0.0, reset=True)
    with pytest.raises(requests.ConnectionError):
        submit(emu, body_for([ref_url]))
    assert emu.counters.submits_accepted == 2 and len(emu.tasks) == 2


def test_inject_rejects_unknown_endpoint_or_kind(emu):
    with pytest.raises(ValueError):
        emu.inject("nowhere", "reset")
    with pytest.raises(ValueError):
        emu.inject("query", "explode")


# --- the result video -----------------------------------------------------------------------
def test_result_video_geometry_and_band_colours(emu):
    import av

    colours = [(220, 40, 30), (20, 180, 60), (240, 220, 30)]
    urls = [upload(emu, image_bytes(colours[0]))["data"]["download_url"],
            upload(emu, image_bytes(colours[1], "JPEG"), "b.jpg")["data"]["download_url"],
            upload(emu, image_bytes(colours[2], size=(7, 300)))["data"]["download_url"]]
    task_id = submit(emu, body_for(urls, resolution="720p"))["taskId"]
    data = requests.get(wait_done(emu, task_id)["results"][0]["url"], timeout=60).content
    with av.open(io.BytesIO(data)) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (1248, 704)
        assert stream.average_rate == facts.OUTPUT_FPS
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 2 * facts.OUTPUT_FPS
    assert frames[0].shape == (704, 1248, 3)
    assert (frames[0][:MARKER_ZONE] != frames[5][:MARKER_ZONE]).any()  # the marker moves
    band = 1248 / 3
    for i, colour in enumerate(colours):
        pixel = frames[10][500, int(band * i + band / 2)]
        assert all(abs(int(p) - c) <= 12 for p, c in zip(pixel, colour)), (i, pixel, colour)


def test_identical_requests_reuse_the_same_video_bytes(emu, ref_url):
    first = wait_done(emu, submit(emu, body_for([ref_url]))["taskId"])["results"][0]["url"]
    second = wait_done(emu, submit(emu, body_for([ref_url]))["taskId"])["results"][0]["url"]
    assert first != second
    assert requests.get(first, timeout=30).content == requests.get(second, timeout=30).content


# --- lifecycle ------------------------------------------------------------------------------
def test_exit_stops_the_server_and_wakes_a_handler_stuck_in_a_delay():
    """Every thread the emulator started (its server, the handler sleeping in a 30 s delay fault)
    ends on exit, and so does the client waiting on that handler. They are daemon threads, so
    each is joined rather than looked for among the threads that block interpreter exit."""
    before = set(threading.enumerate())
    with Emulator() as emu:
        base = emu.base_url
        emu.inject("query", "delay", seconds=30)
        threading.Thread(target=lambda: _quiet(lambda: query(emu, "2" * 19)), daemon=True).start()
        wait_until(lambda: emu.counters.requests_total == 1, what="the handler to have the request")
        started = set(threading.enumerate()) - before
        assert len(emu.api_key) == facts.KEY_LENGTH
    assert len(started) >= 3 and any(t.name == "runninghub-emulator" for t in started)
    for thread in started:
        thread.join(timeout=10)  # the delay is 30 s: only a woken handler ends in time
    assert [t.name for t in started if t.is_alive()] == []
    with pytest.raises(requests.ConnectionError):
        requests.get(base + facts.QUEUE_STATUS_PATH, timeout=2)


def _quiet(fn) -> None:
    try:
        fn()
    except Exception:
        pass


def test_a_new_task_reads_create_then_queued_and_a_cancelled_one_cancel_uncharged(emu, ref_url):
    emu.set_clock(queue_s=600.0, run_s=0.3, create_s=10.0)  # each state outlasts any slow machine
    accepted = submit(emu, body_for([ref_url]))
    task_id = accepted["taskId"]
    assert accepted["status"] == "CREATE" and query(emu, task_id)["status"] == "CREATE"
    emu.skip(10.0)
    assert query(emu, task_id)["status"] == "QUEUED"
    emu.cancel_task(task_id)
    emu.skip(600.0)  # the moment it would have run and been charged has passed
    assert query(emu, task_id)["status"] == "CANCEL" and emu.counters.money_charged == 0


def test_failed_reason_can_be_the_string_the_schema_names(emu, ref_url):
    emu.failed_reason_as_text()
    emu.fail_next_tasks(code="1015", message="generation failed | 生成失败")
    done = wait_done(emu, submit(emu, body_for([ref_url]))["taskId"])
    assert done["status"] == "FAILED" and done["failedReason"] == "TaskFailed: generation failed | 生成失败"
