"""Everything the nodes say to the user, in English and Chinese side by side.

The client describes a run as structured :class:`ProgressEvent` data plus its own English
``message`` (also used by the CLI and logs); in Chinese this module says the same from the data.
The node's own lines (start, done, cancelled, failed) and the key advice of the settings panel are
here in both languages. The language is the one of the browser that queued the prompt: each
browser posts its ComfyUI locale with its client id (``POST /runninghub/locale``) and a prompt
carries the client id of the browser that queued it.
"""
from __future__ import annotations

from typing import Any

from .client_package import events, facts, money

DEFAULT_LANGUAGE = "en"
SEP = " · "

# What went wrong and what to do, per error class (a subclass without its own line uses its
# parent's). "{code}" is RunningHub's code, "{site}" the node's site, "{detail}" the client's English.
SETTINGS_EN = "Settings → RunningHub"
SETTINGS_ZH = "设置 → RunningHub"
ERRORS_EN = {
    "no_key": f"no API key for .{{site}}: add one in {SETTINGS_EN}",
    "AuthError": f"RunningHub rejected the .{{site}} key ({{code}}): check it in {SETTINGS_EN} (Test key); "
                 ".cn and .ai keys do not cross",
    "KeyTypeError": f"this key cannot run Seedance ({{code}}): create an Enterprise-Shared key in the API console "
                    f"and save it in {SETTINGS_EN}",
    "BalanceError": "balance too low ({code}): top up your RunningHub account",
    "RateLimitError": "RunningHub is limiting requests ({code}); queue again in a minute",
    "TaskNotFoundError": "no such task on .{site}, or older than 24 h ({code}): check the id and the site",
    "ServiceError": "RunningHub had a temporary problem ({code}); queue again in a minute",
    "InvalidRequestError": "RunningHub rejected the request ({code}): check prompt, references and options",
    "InvalidParametersError": "RunningHub rejected the options ({code}): check prompt, references and options",
    "FileTooLargeError": "a reference is too large ({code}): at most 10 MB each",
    "FileProcessingError": "RunningHub could not read a reference ({code}); queue again to upload it anew",
    "ModerationError": "refused by moderation ({code}), not charged: change the prompt or references",
    "TaskFailedError": "task {task_id} failed ({code}): change variation and queue again to pay for a new try",
    "AmbiguousSubmitError": "no answer to the submit, so it may have been charged: not re-sent; check your "
                            "RunningHub task list before queuing again",
    "DownloadError": "download failed; task {task_id} stays downloadable for 24 h: use RunningHub Fetch Task",
    "TransportError": "network problem talking to RunningHub: check the connection and queue again",
    "WaitTimeoutError": "stopped waiting; task {task_id} keeps running on RunningHub: fetch it later with "
                        "RunningHub Fetch Task",
    "BudgetExceededError": "refused before any upload: this run ({price}) and today's spend on .{site} ({spent}"
                           f"{{running}}) pass your daily budget of {{budget}}; raise or turn it off in {SETTINGS_EN}",
    "ApiError": "{detail}",  # a code this pack does not know: RunningHub's own words
    "ConfigError": "set-up problem: {detail}",
    "ValidationError": "input problem: {detail}",
    "ResourceError": "not enough memory: {detail}",  # the detail says what would fit
    "RunningHubError": "{detail}",
    "Exception": "{detail}",
}
ERRORS_ZH = {
    "no_key": f".{{site}} 没有 API 密钥：请在 {SETTINGS_ZH} 中填写",
    "AuthError": f"RunningHub 拒绝了 .{{site}} 的密钥（{{code}}）：请在 {SETTINGS_ZH} 中检查并点“测试密钥”；"
                 ".cn 与 .ai 的密钥不通用",
    "KeyTypeError": f"此密钥不能调用 Seedance（{{code}}）：请在 API 控制台创建企业共享（Enterprise-Shared）密钥，"
                    f"再填入 {SETTINGS_ZH}",
    "BalanceError": "余额不足（{code}）：请为 RunningHub 账户充值",
    "RateLimitError": "RunningHub 正在限流（{code}），请一分钟后重新运行",
    "TaskNotFoundError": ".{site} 上没有这个任务，或已超过 24 小时（{code}）：请检查任务 id 和站点",
    "ServiceError": "RunningHub 暂时出错（{code}），请一分钟后重新运行",
    "InvalidRequestError": "RunningHub 拒绝了请求（{code}）：请检查提示词、参考图和选项",
    "InvalidParametersError": "RunningHub 拒绝了参数（{code}）：请检查提示词、参考图和选项",
    "FileTooLargeError": "参考图过大（{code}）：每张不超过 10 MB",
    "FileProcessingError": "RunningHub 无法读取参考图（{code}），请重新运行以重新上传",
    "ModerationError": "内容审核未通过（{code}），未扣费：请修改提示词或参考图",
    "TaskFailedError": "任务 {task_id} 失败（{code}）：如需重试，请修改 variation 后重新运行（会再次扣费）",
    "AmbiguousSubmitError": "提交后没有收到回复，可能已扣费：未自动重发；请先查看 RunningHub 任务列表再重新运行",
    "DownloadError": "下载失败；任务 {task_id} 在 24 小时内仍可下载：请用 RunningHub Fetch Task 节点",
    "TransportError": "与 RunningHub 的网络连接出错：请检查网络后重新运行",
    "WaitTimeoutError": "已停止等待；任务 {task_id} 仍在 RunningHub 上运行：稍后用 RunningHub Fetch Task 节点取回",
    "BudgetExceededError": "已在上传前拒绝：本次运行（{price}）加上 .{site} 今天的花费（{spent}{running}）"
                           f"超过每日预算 {{budget}}；可在 {SETTINGS_ZH} 中调高或关闭",
    "ApiError": "RunningHub 返回错误（{code}）：{detail}",
    "ConfigError": "设置问题：{detail}",
    "ValidationError": "输入有误：{detail}",
    "ResourceError": "内存不足：{detail}",
    "RunningHubError": "出错：{detail}",
    "Exception": "出错：{detail}",
}

# Test key: the codes that mean "this key", in plain words with the fix. 802 and 806 are legacy
# codes; 806 (APIKEY_USER_NOT_FOUND) is typically a key of the other site [S]; 802's exact meaning
# is undocumented [U], so it is worded as a key the site does not accept.
KEY_CODES = ("401", "802", "806", "1002", "1014")
KEY_ADVICE = {
    "en": {
        "401": "The .{site} site does not accept this key ({code}). Copy it again from {page}; if it was made "
               "on runninghub.{other}, save it under .{other} instead.",
        "806": "No .{site} account has this key ({code}): it is probably a key of runninghub.{other}. Save it "
               "under .{other}, or create a .{site} key at {page}.",
        "1014": "This key cannot run Seedance ({code}): it must be an Enterprise-Shared key. Create one at {page} "
                "and save it here.",
    },
    "zh": {
        "401": ".{site} 站点不接受此密钥（{code}）。请从 {page} 重新复制；如果它是在 runninghub.{other} 上创建的，"
               "请改存到 .{other}。",
        "806": ".{site} 上没有使用此密钥的账户（{code}）：它可能是 runninghub.{other} 的密钥。请改存到 .{other}，"
               "或在 {page} 创建 .{site} 的密钥。",
        "1014": "此密钥不能调用 Seedance（{code}）：需要企业共享（Enterprise-Shared）密钥。请在 {page} 创建后保存到这里。",
    },
}
for _lang in KEY_ADVICE.values():  # 802 [U] and 1002 read like 401: the site does not take this key
    _lang["802"] = _lang["1002"] = _lang["401"]

TEXT: dict[str, dict[str, str]] = {
    "en": {  # the client's own messages are English already; these are the node's closing line
        "finished": "done",
        "budget_running": ", +{amount} still running",
        "finished_reused": "reused the saved video",
        "finished_resumed": "resumed",
        "task": "task {task_id}",
        "start": "starting…",
        "decoding": "decoding frame {done}/{total}",
        "decoding_edited": "decoding the trimmed / cropped video…",
        "frames_done": "{count} frames · {fps:g} fps",
        "cancelled": "cancelled · task {task_id} keeps running · queue again to pick it up "
                     "(or use RunningHub Fetch Task within 24 h)",
        "cancelled_early": "cancelled before anything was submitted (nothing charged)",
        "stopped": "cancelled",
        "failed": "failed: {line}",
        **ERRORS_EN,
    },
    "zh": {
        "SUBMITTED": "已提交",
        "CREATE": "已创建",
        "QUEUED": "排队中",
        "RUNNING": "运行中",
        "SUCCESS": "已完成",
        "FAILED": "失败",
        "CANCEL": "已取消",
        "elapsed": "已用 {t}",
        "in_queue": "排队 {t}",
        "left": "约剩 {t}",
        "left_range": "约剩 {lo}–{hi}",
        "late": "比平时慢 · 已运行 {t}",
        "finishing": "即将完成",
        "retrying": "连接不稳定，正在重试",
        "unknown_state": "未知状态 {state}，继续等待",
        "slot": "等待空闲的任务名额",
        "upload": "正在上传参考图 {index}/{count}（{size}）",
        "submit": "正在提交",
        "submit_fresh": "正在提交（参考图已重新上传）",
        "resumed": "继续任务 {task_id}",
        "download": "正在下载视频",
        "download_of": "正在下载 {done}/{total}",
        "download_mb": "正在下载 {done}",
        "reused": "已复用任务 {task_id} 保存的视频",
        "saved": "已保存 {file}",
        "finished": "完成",
        "budget_running": "，另有运行中 {amount}",
        "finished_reused": "已复用保存的视频",
        "finished_resumed": "已继续完成",
        "task": "任务 {task_id}",
        "start": "开始…",
        "decoding": "正在解码第 {done}/{total} 帧",
        "decoding_edited": "正在解码裁剪后的视频…",
        "frames_done": "{count} 帧 · {fps:g} fps",
        "cancelled": "已取消 · 任务 {task_id} 仍在运行 · 再次排队即可取回（或 24 小时内用 RunningHub Fetch Task 节点取回）",
        "cancelled_early": "已取消，尚未提交（未扣费）",
        "stopped": "已取消",
        "failed": "失败：{line}",
        **ERRORS_ZH,
    },
}

MAX_CLIENTS = 256  # browsers remembered; the oldest is forgotten first
_by_client: dict[str, str] = {}


def language_of(locale: Any) -> str:
    """"zh" for any Chinese locale ("zh", "zh-CN", "zh-TW"), else "en" — as js/format.js decides."""
    return "zh" if str(locale or "").strip().lower().startswith("zh") else "en"


def set_language(locale: Any, client_id: Any = None) -> str:
    """Remember the ComfyUI locale of the browser ``client_id``; returns the language used."""
    lang = language_of(locale)
    if client_id:
        _by_client.pop(str(client_id), None)
        _by_client[str(client_id)] = lang
        while len(_by_client) > MAX_CLIENTS:
            del _by_client[next(iter(_by_client))]
    return lang


def language_for(client_id: Any) -> str:
    """The language of the browser that queued a prompt; English for scripts and unknown browsers."""
    return _by_client.get(str(client_id), DEFAULT_LANGUAGE) if client_id else DEFAULT_LANGUAGE


def _t(lang: str, key: str, **values: Any) -> str:
    return TEXT[lang][key].format(**values)


def state_name(state: str, lang: str) -> str:
    """A RunningHub state in ``lang``; a state this pack does not know stays as RunningHub sent it."""
    state = state or "SUBMITTED"
    return TEXT[lang].get(state, state)


def _waiting(event: events.ProgressEvent, lang: str) -> str:
    """The 1 s ticker while queued or running, e.g. "运行中 · 已用 0:41 · 约剩 0:19 · ≈0.75 元"."""
    duration = events.format_duration
    parts = [state_name(event.state, lang), _t(lang, "elapsed", t=duration(event.elapsed_s))]
    if event.queued_s >= 1:
        parts.append(_t(lang, "in_queue", t=duration(event.queued_s)))
    extra = event.extra or {}
    if "late_s" in extra:
        parts.append(_t(lang, "late", t=duration(extra["late_s"])))
    elif "eta_range" in extra:
        lo, hi = extra["eta_range"]
        parts.append(_t(lang, "left_range", lo=duration(lo), hi=duration(hi)))
    elif event.eta_s is not None:
        parts.append(_t(lang, "left", t=duration(event.eta_s)) if event.eta_s >= 1 else _t(lang, "finishing"))
    if event.price is not None:
        parts.append(money.format_money(event.price, lang, approx=not event.charged))
    note = (event.extra or {}).get("note")
    if note:
        parts.append(_t(lang, note, state=event.state))
    return SEP.join(parts)


def describe(event: events.ProgressEvent, lang: str = DEFAULT_LANGUAGE) -> str:
    """The status line for ``event`` in ``lang``; the client's message when the event is of a kind
    this module does not know."""
    extra, phase = event.extra or {}, event.phase
    if lang != "zh":
        return event.message or phase
    try:
        if phase in ("queued", "running"):
            if extra.get("resumed"):
                return _t(lang, "resumed", task_id=event.task_id)
            return _waiting(event, lang)
        if phase == "slot":
            return _t(lang, "slot")
        if phase == "upload" and "index" in extra:
            return _t(lang, "upload", index=extra["index"], count=extra["count"],
                      size=events.format_size(extra["bytes"]))
        if phase == "submit":
            return _t(lang, "submit_fresh" if extra.get("fresh_uploads") else "submit")
        if phase == "download":
            if "bytes_done" not in extra:
                return _t(lang, "download")
            done, total = events.format_size(extra["bytes_done"]), extra.get("bytes_total")
            if total:
                return _t(lang, "download_of", done=done, total=events.format_size(total))
            return _t(lang, "download_mb", done=done)
        if phase == "done" and extra.get("reused"):
            return _t(lang, "reused", task_id=event.task_id)
        if phase == "done" and "file" in extra:
            return _t(lang, "saved", file=extra["file"])
    except (KeyError, TypeError, ValueError):
        pass  # an event with partial details: its English message still says what happens
    return event.message or phase


def finished(task_id: str, filename: str, *, reused: bool = False, resumed: bool = False,
             cost: money.Money | None = None, elapsed_s: float = 0.0, lang: str = DEFAULT_LANGUAGE) -> str:
    """The node's closing lines: "done · task … · 0.75 CNY · 0:12" and the file name below;
    "resumed" when an earlier run's task was waited for, "reused the saved video" when nothing was."""
    word = "finished_reused" if reused else "finished_resumed" if resumed else "finished"
    parts = [_t(lang, word), _t(lang, "task", task_id=task_id)]
    if cost is not None:
        parts.append(money.format_money(cost, lang))
    if elapsed_s:
        parts.append(events.format_duration(elapsed_s))
    return SEP.join(parts) + f"\n{filename}"


def started(lang: str = DEFAULT_LANGUAGE) -> str:
    """The line that replaces the previous run's as soon as a run starts."""
    return _t(lang, "start")


def decoding(done: int, total: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The Video to Frames node while it decodes (``total`` 0: the file does not say)."""
    return _t(lang, "decoding", done=done, total=total or "?")


def decoding_edited(lang: str = DEFAULT_LANGUAGE) -> str:
    return _t(lang, "decoding_edited")


def frames_done(count: int, fps: float, lang: str = DEFAULT_LANGUAGE) -> str:
    return _t(lang, "frames_done", count=count, fps=round(fps, 3))


def cancelled(task_id: str = "", lang: str = DEFAULT_LANGUAGE) -> str:
    """After Cancel: the task keeps running (and is paid), so say how to pick it up."""
    return _t(lang, "cancelled", task_id=task_id) if task_id else _t(lang, "cancelled_early")


def stopped(lang: str = DEFAULT_LANGUAGE) -> str:
    """Cancel of work that costs nothing (decoding, a wait for the bar)."""
    return _t(lang, "stopped")


def error_line(exc: BaseException, lang: str = DEFAULT_LANGUAGE, *, site: str = "", no_key: bool = False) -> str:
    """One short line saying what went wrong and what to do, in ``lang`` (the node's status and the
    error dialog). ``no_key``: the error is the missing key of ``site``."""
    table = TEXT[lang]
    if no_key:
        return _t(lang, "no_key", site=site)
    detail = str(exc).strip() or type(exc).__name__
    key = next((c.__name__ for c in type(exc).__mro__ if c.__name__ in table), "Exception")
    values = {"code": getattr(exc, "code", "") or "?", "task_id": getattr(exc, "task_id", "") or "?",
              "site": site, "detail": detail}
    day = getattr(exc, "day", None)  # a budget refusal's figures (spend.BudgetExceededError)
    if day is not None:
        zero = money.Money.zero(day.currency)
        shown = {name: money.format_money(amount or zero, lang) for name, amount in
                 (("price", exc.price), ("spent", day.spent), ("running", day.running), ("budget", day.budget))}
        shown["running"] = _t(lang, "budget_running", amount=shown["running"]) if day.running else ""
        values.update(shown)
    line = table[key].format(**values)
    server = getattr(exc, "server_message", "")
    if server and key not in ("ApiError", "ConfigError", "ValidationError", "RunningHubError", "Exception"):
        line += f" · RunningHub: {server}"
    return line


def failed(exc: BaseException, lang: str = DEFAULT_LANGUAGE, **kwargs: Any) -> str:
    """The node's status after an error: "failed: …" / "失败：…"."""
    return _t(lang, "failed", line=error_line(exc, lang, **kwargs))


def key_advice(code: Any, site: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain advice for an error code that is about the key itself; "" for any other code."""
    template = KEY_ADVICE[lang].get(str(code or ""))
    if template is None:
        return ""
    other = next((s for s in facts.SITES if s != site), site)
    return template.format(code=code, site=site, other=other, page=facts.KEY_PAGES.get(site, f"runninghub.{site}"))
