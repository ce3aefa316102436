"""HTTP routing and handlers: the RunningHub wire shapes of docs/runninghub-api.md."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..remote import error_codes, facts, models
from . import video
from .state import Fault, Task, played_seconds, preview_price, price_for
from ..media.references import upload_limit  # per kind: the largest any model takes (images: 10 MB)
from .validate import ASSET_SCHEME, CONTENT_TYPES, KINDS, check_body, invalid, sniff

if TYPE_CHECKING:
    from .control import Emulator

MSG_401 = "ApiKey verification failed, please check your apiKey | ApiKey验证失败，请检查您的apiKey"
MSG_1002 = "Invalid API key | 无效的API密钥"
MSG_1004 = "Task not found, please check the task ID | 任务不存在或已过期，请检查任务ID"
MSG_1014 = ("Access Denied: Standard Model API is restricted to Enterprise-Shared API Keys only."
            "|访问被拒绝：标准模型API仅限企业共享API Key调用。")
MSG_809 = "File size exceeds the limit of 10MB | 文件大小超过10MB限制"
MSG_421 = "TASK_QUEUE_MAXED: concurrency limit reached | 任务队列已满，请稍后再试"
MSG_414 = "Insufficient credit | 余额不足"
TASK_ID = re.compile(r"^\d{19}$")
GREY = (0.5, 0.5, 0.5)
OUTPUT_PREFIX, FILES_PREFIX = "/output/", "/files/"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emu: Emulator) -> None:
        self.emu = emu
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (killed, cancelled, timed out) is what the fault tests
        do on purpose: nothing to print. Anything else is a bug of the emulator and is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def family_a(code: str, message: str, task_id: str = "") -> dict:
    return {"taskId": task_id, "status": "", "errorCode": str(code), "errorMessage": message,
            "results": None, "clientId": "", "promptTips": ""}


def _int_code(code: Any) -> Any:
    return int(code) if str(code).lstrip("-").isdigit() else code


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    server_version = "RunningHubEmulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters, not logs
        pass

    # --- plumbing ------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    @property
    def emu(self) -> Emulator:
        return self.server.emu

    def _dispatch(self, method: str) -> None:
        state = self.emu.state
        self.body = self.read_body()
        path = urlsplit(self.path).path
        endpoint, handler = self._route(method, path)
        with state.lock:
            state.counters.requests_total += 1
            counter = {"upload": "uploads", "submit": "submits", "query": "queries", "download": "downloads",
                       "file": "file_gets", "queue_status": "queue_status_calls",
                       "account_status": "account_status_calls", "price_preview": "price_previews",
                       "asset_query": "asset_queries", "asset_list": "asset_lists"}.get(endpoint)
            if counter:
                setattr(state.counters, counter, getattr(state.counters, counter) + 1)
        if handler is None:
            if path.startswith("/openapi/") and method == "POST":
                self.send_json(family_a("1001", "Invalid URL or path | 无效的URL或路径"))
            else:
                self.send_json({"code": 404, "msg": "not found"}, status=404)
            return
        fault = state.take_fault(endpoint)
        if fault is not None:
            if fault.kind == "http_error":
                status = int(fault.params.get("status", 503))
                extra = {}
                if fault.params.get("retry_after") is not None:
                    extra["Retry-After"] = str(fault.params["retry_after"])
                self.send_bytes(str(fault.params.get("body", "")).encode(), "text/plain", status=status,
                                headers=extra)
                return
            if fault.kind == "reset":
                self.reset()
                return
            if fault.kind == "echo_key":
                self.send_key_echo(endpoint, fault)
                return
            if fault.kind == "redirect":
                self.send_bytes(b"", "text/plain", status=int(fault.params.get("status", 302)),
                                headers={"Location": str(fault.params["location"])})
                return
            if fault.kind == "error_code":
                self.send_fault_code(endpoint, fault)
                return
            if fault.kind == "delay":
                self.emu.sleep(float(fault.params.get("seconds", 2.0)))
                fault = None
        handler(fault)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _route(self, method: str, path: str) -> tuple[str, Any]:
        if method == "POST":
            for model in models.MODELS.values():  # every mode of every model has its two endpoints
                for endpoint in model.endpoints:
                    if path in (endpoint.submit_path, endpoint.price_preview_path):
                        self.model, self.endpoint = model, endpoint
                        return (("submit", self.h_submit) if path == endpoint.submit_path
                                else ("price_preview", self.h_price_preview))
            return {
                facts.ASSET_CREATE_PATH: ("asset_create", self.h_asset_create),
                facts.ASSET_QUERY_PATH: ("asset_query", self.h_asset_query),
                facts.ASSET_LIST_PATH: ("asset_list", self.h_asset_list),
                facts.ASSET_DELETE_PATH: ("asset_delete", self.h_asset_delete),
                facts.UPLOAD_PATH: ("upload", self.h_upload),
                facts.QUERY_PATH: ("query", self.h_query),
                facts.ACCOUNT_STATUS_PATH: ("account_status", self.h_account_status),
            }.get(path, ("", None))
        if path == facts.QUEUE_STATUS_PATH and method == "GET":
            return "queue_status", self.h_queue_status
        if path.startswith(OUTPUT_PREFIX):
            return ("last_frame" if path.endswith(".png") else "download"), self.h_output
        if path.startswith(FILES_PREFIX):
            return "file", self.h_file
        return "", None

    def send_bytes(self, data: bytes, content_type: str, status: int = 200,
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, obj: Any, status: int = 200) -> None:
        self.send_bytes(json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8",
                        status=status)

    def reset(self) -> None:
        """Close with no reply (RST): what a dropped connection looks like to the client."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_fault_code(self, endpoint: str, fault: Fault) -> None:
        code = str(fault.params.get("code", "1011"))
        info = error_codes.CODES.get(code)
        message = fault.params.get("message") or (f"{info.meaning} | 服务错误" if info else f"error {code}")
        if endpoint in ("submit", "query", "price_preview"):
            self.send_json(family_a(code, message, self.json_body().get("taskId", "") if endpoint == "query" else ""))
        elif endpoint == "upload" or endpoint.startswith("asset_"):
            self.send_json({"code": _int_code(code), "message": message, "data": None})
        else:
            self.send_json({"code": _int_code(code), "msg": message, "data": None})

    def send_key_echo(self, endpoint: str, fault: Fault) -> None:
        """A careless gateway that repeats the caller's credentials in its error (a leak to redact)."""
        header = self.headers.get("Authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else str(self.json_body().get("apikey", ""))
        status = int(fault.params.get("status", 200))
        message = f"request with key {key} rejected by upstream gateway | 网关拒绝了密钥 {key} 的请求"
        if status != 200:
            self.send_bytes(message.encode(), "text/plain; charset=utf-8", status=status)
        elif endpoint in ("submit", "query", "price_preview"):
            self.send_json(family_a("1000", message))
        else:
            self.send_json({"code": 1000, "message": message, "msg": message, "data": None})

    def json_body(self) -> dict:
        try:
            obj = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}

    def authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        return secrets.compare_digest(token.encode(), self.emu.api_key.encode())

    # --- upload and files ----------------------------------------------------------------
    def h_upload(self, fault: Fault | None) -> None:
        if not self.authorized():
            self.send_json({"code": 401, "message": MSG_401, "data": None})
            return
        data = self.multipart_file()
        if data is None:
            self.send_json({"code": 1007, "message": invalid("multipart field 'file' is required", "file"),
                            "data": None})
            return
        ext = sniff(data)
        if not ext:
            self.send_json({"code": 1007, "message": invalid("only JPG/PNG/WEBP images, MP4 videos and WAV/MP3 "
                                                             "audio are accepted", "文件类型"), "data": None})
            return
        if len(data) > upload_limit(KINDS[ext]):
            self.send_json({"code": 809, "message": MSG_809, "data": None})
            return
        sha = hashlib.sha256(data).hexdigest()
        path = f"{FILES_PREFIX}{sha}.{ext}"
        url = self.emu.base_url + path
        self.emu.state.add_upload(url, path, data)
        with self.emu.state.lock:
            self.emu.state.counters.upload_bytes += len(data)
        self.send_json({"code": 0, "message": "success", "data": {
            "type": KINDS[ext], "download_url": url, "fileName": f"openapi/{sha}.{ext}", "size": str(len(data))}})

    def multipart_file(self) -> bytes | None:
        match = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        if not match:
            return None
        delimiter = b"--" + match.group(1).encode()
        for part in self.body.split(delimiter)[1:]:
            if part.startswith(b"--"):
                break
            head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
            if sep and re.search(rb'(?i)content-disposition:[^\r\n]*\bname="file"', head):
                return content.removesuffix(b"\r\n")
        return None

    def h_file(self, fault: Fault | None) -> None:
        path = urlsplit(self.path).path
        data = self.emu.state.upload_for(path)
        if data is None:
            self.send_json({"code": 404, "msg": "not found"}, status=404)
            return
        self.send_media(data, CONTENT_TYPES.get(path.rpartition(".")[2], "application/octet-stream"), fault,
                        count=False)

    def h_output(self, fault: Fault | None) -> None:
        name = urlsplit(self.path).path[len(OUTPUT_PREFIX):]
        self.emu.state.advance()
        task_id, _, ext = name.partition(".")
        task = self.emu.state.tasks.get(task_id)
        if (task is None or task.expired or ext not in ("mp4", "png") or (ext == "png" and not task.last_frame)
                or task.state != facts.SUCCESS_STATE or task.video is None):
            self.send_json({"code": 404, "msg": "not found"}, status=404)
            return
        rendered = task.video.result(timeout=300)
        if ext == "png":
            self.send_media(rendered.last_frame_png, "image/png", fault, count=False)
        else:
            self.send_media(rendered.mp4, "video/mp4", fault, count=True)

    def send_media(self, data: bytes, content_type: str, fault: Fault | None, count: bool) -> None:
        """Whole file or one byte range, with the download faults (slow, truncate) applied."""
        size, status, start, end = len(data), 200, 0, len(data)
        headers = {"Accept-Ranges": "bytes"}
        spec = self.headers.get("Range")
        if spec:
            rng = parse_range(spec, size)
            if rng is None:
                self.send_bytes(b"", content_type, status=416, headers={"Content-Range": f"bytes */{size}"})
                return
            start, end = rng
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        body = data[start:end]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = len(body)
        if fault is not None and fault.kind == "truncate":
            limit = int(len(body) * float(fault.params.get("fraction", 0.5)))
        rate = float(fault.params.get("bytes_per_s", 256 * 1024)) if fault and fault.kind == "slow" else 0.0
        chunk = max(1, int(rate / 20)) if rate else 256 * 1024
        sent = 0

        def count_bytes(n: int) -> None:  # before the write: a client holding the bytes sees them counted
            if count:
                with self.emu.state.lock:
                    self.emu.state.counters.download_bytes += n

        try:
            while sent < limit and not self.emu.stopping:
                piece = body[sent:min(limit, sent + chunk)]
                count_bytes(len(piece))
                try:
                    self.wfile.write(piece)
                except OSError:
                    count_bytes(-len(piece))
                    raise
                sent += len(piece)
                if rate:
                    time.sleep(len(piece) / rate)
        except OSError:
            self.close_connection = True
        if sent < len(body):  # truncated or stopping: end cleanly after what was sent (FIN, not RST)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    # --- model calls ---------------------------------------------------------------------
    def model_call_refused(self) -> bool:
        if not self.authorized():
            self.send_json(family_a("1002", MSG_1002))
            return True
        if self.emu.key_type != "SHARED":
            self.send_json(family_a("1014", MSG_1014))
            return True
        return False

    def accepted_model_body(self) -> tuple[dict, dict] | None:
        """The submit/price-preview body and its references by kind, or None after replying with the refusal."""
        if self.model_call_refused():
            return None
        try:
            body = json.loads(self.body or b"null")
        except ValueError:
            body = None
        state = self.emu.state
        code, message, references = check_body(body, self.model, self.endpoint, state.upload_for,
                                                lambda path: path in state.upload_paths, self.emu.base_url,
                                                expired_seen_by_task=state.expiry_seen_at == "task",
                                                asset_for=self.active_asset)
        if code:
            self.send_json(family_a(code, message))
            return None
        return body, references

    def h_submit(self, fault: Fault | None) -> None:
        accepted = self.accepted_model_body()
        if accepted is None:
            return
        body, references = accepted
        model = self.model
        failure = None
        try:
            # a reference the emulator cannot fetch (any https URL: no network here) is painted mid-grey
            colours = ([video.mean_rgb(r) if r else GREY for kind in models.IMAGE_KINDS
                        for r in references.get(kind, [])]
                       + [video.first_frame_rgb(r) if r else GREY for r in references.get(models.VIDEO, [])])
        except Exception:  # magic bytes looked right but the file does not decode
            colours = []
            failure = {"code": "1013", "at": "running",
                       "message": "File processing failed: a reference could not be decoded | 文件处理失败"}
        # named as conversionSlots names them [S]: image1…, video1…, the frame fields by their own name
        people = [rule.wire if rule.single else f"{rule.kind}{i}" for rule in self.endpoint.media
                  if rule.kind != models.AUDIO
                  for i, (url, data) in enumerate(zip(_as_list(body.get(rule.wire)), references.get(rule.kind, [])), 1)
                  if not url.startswith(ASSET_SCHEME) and self.emu.state.shows_real_person(data)]
        if people:  # accepted, then failed once it runs, not charged (as moderation) [S]
            failure = {"code": "1505", "at": "running",
                       "message": f"Photorealistic real person detected in {', '.join(people)}; use real person "
                                  f"mode | 检测到写实真人：{', '.join(people)}"}
        urls = [u for rule in self.endpoint.media for u in _as_list(body.get(rule.wire))]
        if any(urlsplit(u).path in self.emu.state.expired_paths for u in urls):
            failure = {"code": "1013", "at": "running",
                       "message": "File processing failed: a reference URL has expired | 文件处理失败：链接已过期"}
        state = self.emu.state
        with state.lock:
            if state.over_limit == "reject" and sum(state.counts()) >= state.concurrent_limit:
                self.send_json(family_a("421", MSG_421))
                return
            if state.balance < price_for(body, model, state.currency, self.endpoint.mode):
                self.send_json(family_a("414", MSG_414))
                return
            task = state.create_task(body, references, failure, model, self.endpoint.mode)
            if fault is not None and fault.kind == "not_found_at_first":
                task.unseen_queries = int(fault.params.get("queries") or 0)
                task.unseen_s = float(fault.params.get("seconds") or 0.0)
        if not task.fail_code:
            colours = colours or [prompt_colour(str(body.get("prompt", "")))]  # text mode: the prompt's own colour
            ratio = self.endpoint.option("aspect_ratio")
            aspect = body.get(ratio.wire, ratio.default)
            sound = model.result_audio_option and body.get(model.option(model.result_audio_option).wire, True)
            task.video = video.render(colours, str(played_seconds(body)), body["resolution"], aspect,
                                      str(sound).lower() == "true")
        if fault is not None and fault.kind == "timeout_after_create":
            self.emu.sleep(float(fault.params.get("seconds", 5.0)))
            if fault.params.get("reset"):
                self.reset()
                return
            if fault.params.get("status"):  # a gateway that times out after passing the submit on
                self.send_bytes(b"upstream timed out", "text/plain", status=int(fault.params["status"]))
                return
        if fault is not None and fault.kind == "answer_after_create":
            self.send_broken_answer(task, str(fault.params["answer"]), int(fault.params.get("status", 200)))
            return
        reply = self.task_view(task)
        reply["clientId"] = secrets.token_hex(16)
        reply["promptTips"] = json.dumps({"result": True, "error": None, "outputs_to_execute": ["2"],
                                          "node_errors": {}})
        self.send_json(reply)

    def send_broken_answer(self, task: Task, answer: str, status: int) -> None:
        """A submit answer that proves nothing (state.BROKEN_SUBMIT_ANSWERS), after ``task`` was made."""
        reply = self.task_view(task)
        if answer == "not_json":
            self.send_bytes(b"OK", "text/plain", status=status)
        elif answer == "empty":
            self.send_bytes(b"", "application/json", status=status)
        elif answer == "html":
            page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1>nginx</body></html>"
            self.send_bytes(page.encode(), "text/html", status=status)
        elif answer == "list":
            self.send_json([reply], status=status)
        elif answer == "code_500":
            self.send_json({"code": 500, "msg": "internal server error", "data": None}, status=status)
        elif answer == "error_1000":
            self.send_json(family_a("1000", "unknown error | 未知错误"), status=status)
        else:
            reply["taskId"] = {"task_id_path": "../../etc/x", "task_id_long": "1" * 10_000,
                               "task_id_number": int(task.task_id)}[answer]
            self.send_json(reply, status=status)

    def h_price_preview(self, fault: Fault | None) -> None:
        accepted = self.accepted_model_body()
        if accepted is None:
            return
        price = preview_price(accepted[0], self.model, self.emu.currency, self.endpoint.mode)
        if price is None:  # the model chooses the length: billed by what it makes
            text = "按实际生成时长计费 | billed by the length generated"
        else:
            text = f"{price:.2f} 元" if self.emu.currency == "CNY" else f"${price:.2f}"
        self.send_json({"errorCode": 0, "errorMessage": "", "estimatedPrice": price, "currency": self.emu.currency,
                        "priceText": text})

    def h_query(self, fault: Fault | None) -> None:
        if not self.authorized():
            self.send_json(family_a("1002", MSG_1002))
            return
        task_id = self.json_body().get("taskId")
        if not isinstance(task_id, str) or not TASK_ID.match(task_id):
            self.send_json(family_a("1007", invalid("taskId must be a 19-digit string", "taskId"),
                                    task_id if isinstance(task_id, str) else ""))
            return
        self.emu.state.advance()
        task = self.emu.state.tasks.get(task_id)
        if task is None or task.expired or self.emu.state.unseen(task, time.monotonic()):
            self.send_json({"taskId": task_id, "status": "", "errorCode": "1004", "errorMessage": MSG_1004,
                            "results": None})
            return
        self.send_json(self.task_view(task))

    def task_view(self, task: Task) -> dict:
        self.emu.state.advance()
        status = task.state
        view = {"taskId": task.task_id, "status": status, "errorCode": "", "errorMessage": "",
                "failedReason": {}, "usage": None, "results": None, "clientId": "", "promptTips": ""}
        if status == "FAILED":
            reason: Any = {"exception_type": "TaskFailed", "node_name": task.model.id, "node_id": "2",
                           "exception_message": task.fail_message, "traceback": ""}
            if self.emu.state.failed_reason_text:
                reason = f"TaskFailed: {task.fail_message}"
            view.update(errorCode=task.fail_code, errorMessage=task.fail_message, failedReason=reason)
        elif status == facts.SUCCESS_STATE:
            view["usage"] = {"consumeMoney": None, "consumeCoins": None,
                             "taskCostTime": str(round(task.end - task.created if self.emu.state.cost_time_s is None
                                                       else self.emu.state.cost_time_s)),
                             "thirdPartyConsumeMoney": None}
            charged = self.emu.state.charge_text
            view["usage"][self.emu.state.charge_field] = f"{task.price:.2f}" if charged is None else charged
            view["results"] = [{"url": f"{self.emu.base_url}{OUTPUT_PREFIX}{task.task_id}.mp4", "nodeId": "2",
                                "outputType": "mp4", "text": None}]
            if task.last_frame:  # the image first: clients must pick results by outputType [U]
                view["results"].insert(0, {"url": f"{self.emu.base_url}{OUTPUT_PREFIX}{task.task_id}.png",
                                           "nodeId": "3", "outputType": "png", "text": None})
            broken = self.emu.state.take_broken_results()
            if broken:
                view["results"] = broken_results(broken, view["results"][-1]["url"])
        return view

    # --- assets (real-person handling) ----------------------------------------------------
    def active_asset(self, asset_id: str) -> tuple[str, bytes] | None:
        asset = self.emu.state.active_asset(asset_id)
        return None if asset is None else (asset.asset_type, asset.data)

    def family_b_refused(self) -> bool:
        if not self.authorized():
            self.send_json({"code": 401, "msg": MSG_401, "data": None})
            return True
        return False

    def asset_view(self, asset: Any) -> dict:
        status = asset.status_at(time.monotonic())
        view = {"assetId": asset.asset_id, "status": status, "assetType": asset.asset_type, "name": asset.name,
                "previewUrl": asset.url if status == "ACTIVE" else ""}
        if status == "FAILED":
            view["failReason"] = asset.fail_reason
        return view

    def h_asset_create(self, fault: Fault | None) -> None:
        if self.family_b_refused():
            return
        body = self.json_body()
        url, kind, name = body.get("url"), body.get("assetType"), body.get("name")
        if not (isinstance(url, str) and kind in ("Image", "Video", "Audio") and isinstance(name, str)
                and body.get("groupId")):
            self.send_json({"code": 1007, "msg": invalid("groupId, url, assetType and name are required",
                                                         "assets/create"), "data": None})
            return
        path = urlsplit(url).path
        data = self.emu.state.upload_for(path) if url.startswith(self.emu.base_url + "/") else b""
        if data is None:
            self.send_json({"code": 1013, "msg": "File processing failed: the URL cannot be read | 文件处理失败",
                            "data": None})
            return
        if data and KINDS.get(sniff(data), "").capitalize() != kind:
            self.send_json({"code": 1007, "msg": invalid(f"the file is not of type {kind}", "assetType"), "data": None})
            return
        asset = self.emu.state.create_asset(kind, name, url, data)
        if fault is not None and fault.kind == "timeout_after_create":
            self.emu.sleep(float(fault.params.get("seconds", 5.0)))
            if fault.params.get("reset"):
                self.reset()
                return
        self.send_json({"code": 0, "msg": "success", "data": self.asset_view(asset)})

    def h_asset_query(self, fault: Fault | None) -> None:
        if self.family_b_refused():
            return
        asset = self.emu.state.assets.get(str(self.json_body().get("assetId") or ""))
        if asset is None:
            self.send_json({"code": 1004, "msg": "Asset not found | 素材不存在", "data": None})
            return
        self.send_json({"code": 0, "msg": "success", "data": self.asset_view(asset)})

    def h_asset_list(self, fault: Fault | None) -> None:
        if self.family_b_refused():
            return
        body = self.json_body()
        number, size = max(1, int(body.get("pageNumber") or 1)), max(1, int(body.get("pageSize") or 20))
        every = list(self.emu.state.assets.values())[::-1]
        page = every[(number - 1) * size:number * size]
        self.send_json({"code": 0, "msg": "success", "data": {
            "records": [self.asset_view(a) for a in page], "total": len(every)}})

    def h_asset_delete(self, fault: Fault | None) -> None:
        if self.family_b_refused():
            return
        asset_id = str(self.json_body().get("assetId") or "")
        with self.emu.state.lock:
            if self.emu.state.assets.pop(asset_id, None) is None:
                self.send_json({"code": 1004, "msg": "Asset not found | 素材不存在", "data": None})
                return
            self.emu.state.counters.assets_deleted += 1
        self.send_json({"code": 0, "msg": "success", "data": None})

    # --- account -------------------------------------------------------------------------
    def h_queue_status(self, fault: Fault | None) -> None:
        if not self.authorized():
            self.send_json({"code": 401, "msg": MSG_401, "data": None})
            return
        running, queued = self.emu.state.counts()
        self.send_json({"code": 0, "msg": "success", "data": {
            "apiKeyType": self.emu.key_type, "concurrentLimit": self.emu.state.concurrent_limit,
            "runningCount": str(running), "queuedCount": str(queued), "totalCurrentTasks": str(running + queued)}})

    def h_account_status(self, fault: Fault | None) -> None:
        key = self.json_body().get("apikey")
        if not isinstance(key, str) or not secrets.compare_digest(key.encode(), self.emu.api_key.encode()):
            self.send_json({"code": 401, "msg": MSG_401, "data": None})
            return
        running, queued = self.emu.state.counts()
        self.send_json({"code": 0, "msg": "success", "data": {
            "remainCoins": "0", "remainMoney": f"{self.emu.state.balance:.2f}", "currency": self.emu.currency,
            "apiType": self.emu.key_type, "currentTaskCounts": str(running + queued)}})


def broken_results(shape: str, video_url: str) -> Any:
    """``results`` of a SUCCESS answer with no usable video URL (state.BROKEN_RESULTS)."""
    return {"empty": [], "png_only": [{"url": video_url[:-4] + ".png", "outputType": "png", "nodeId": "3"}],
            "not_list": {"url": video_url, "outputType": "mp4"}, "strings": [video_url]}[shape]


def prompt_colour(prompt: str) -> tuple[int, int, int]:
    """A colour of its own for each prompt: a video made from text alone still shows what made it."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return 40 + digest[0] % 176, 40 + digest[1] % 176, 40 + digest[2] % 176


def _as_list(value: Any) -> list:
    """A URL field as a list: an array as it is, a single URL (a frame) as one item."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str) else []


def parse_range(spec: str, size: int) -> tuple[int, int] | None:
    """[start, end) of a single ``bytes=`` range, or None if unsatisfiable."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", spec)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    else:
        start, end = max(0, size - int(last)), size
    if start >= size or start >= end:
        return None
    return start, end
