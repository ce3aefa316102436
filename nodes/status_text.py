"""The node's live status line in the user's ComfyUI language (en, zh).

The client describes a run as structured :class:`ProgressEvent` data plus its own English
``message`` (also used by the CLI and logs); in Chinese this module says the same from the data,
in the language the browser reported (``POST /runninghub/locale``). One ComfyUI server has one
language: the browser that spoke last decides.
"""
from __future__ import annotations

from typing import Any

from .client import events

DEFAULT_LANGUAGE = "en"
SEP = " · "

TEXT: dict[str, dict[str, str]] = {
    "en": {  # the client's own messages are English already; these are the node's closing line
        "finished": "done",
        "finished_reused": "reused the saved video",
        "finished_resumed": "resumed",
        "task": "task {task_id}",
        "cancelled": "cancelled",
        "cancelled_task": "cancelled · task {task_id} keeps running · queue again to pick it up",
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
        "finished_reused": "已复用保存的视频",
        "finished_resumed": "已继续完成",
        "task": "任务 {task_id}",
        "cancelled": "已取消",
        "cancelled_task": "已取消 · 任务 {task_id} 仍在运行 · 再次排队即可取回",
    },
}

_language = DEFAULT_LANGUAGE


def language_of(locale: Any) -> str:
    """"zh" for any Chinese locale ("zh", "zh-CN", "zh-TW"), else "en" — as js/format.js decides."""
    return "zh" if str(locale or "").strip().lower().startswith("zh") else "en"


def set_language(locale: Any) -> str:
    """Remember the browser's ComfyUI locale for every later status line; returns the language used."""
    global _language
    _language = language_of(locale)
    return _language


def language() -> str:
    return _language


def _t(lang: str, key: str, **values: Any) -> str:
    return TEXT[lang][key].format(**values)


def money(amount: str, lang: str) -> str:
    """"≈0.75 CNY" as the client writes it; in Chinese "≈0.75 元" and "$0.05" (as js/format.js)."""
    if lang != "zh":
        return amount
    number, _, currency = amount.rpartition(" ")
    if currency == "CNY" and number:
        return f"{number} 元"
    if currency == "USD" and number:
        sign = "≈" if number.startswith("≈") else ""
        return f"{sign}${number.removeprefix('≈')}"
    return amount


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
    if event.price:
        parts.append(money(event.price, lang))
    note = (event.extra or {}).get("note")
    if note:
        parts.append(_t(lang, note, state=event.state))
    return SEP.join(parts)


def describe(event: events.ProgressEvent, lang: str | None = None) -> str:
    """The status line for ``event`` in ``lang`` (default: the browser's); the client's message when
    the event is of a kind this module does not know."""
    lang = lang or _language
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


def finished(task_id: str, filename: str, *, reused: bool = False, resumed: bool = False, cost: str = "",
             currency: str = "", elapsed_s: float = 0.0, lang: str | None = None) -> str:
    """The node's closing lines: "done · task … · 0.75 CNY · 0:12" and the file name below;
    "resumed" when an earlier run's task was waited for, "reused the saved video" when nothing was."""
    lang = lang or _language
    word = "finished_reused" if reused else "finished_resumed" if resumed else "finished"
    parts = [_t(lang, word), _t(lang, "task", task_id=task_id)]
    if cost:
        parts.append(money(f"{cost} {currency}".strip(), lang))
    if elapsed_s:
        parts.append(events.format_duration(elapsed_s))
    return SEP.join(parts) + f"\n{filename}"


def cancelled(task_id: str = "", lang: str | None = None) -> str:
    """The node's line after ComfyUI's Cancel: a submitted task is not lost, queuing again resumes it."""
    lang = lang or _language
    return _t(lang, "cancelled_task", task_id=task_id) if task_id else _t(lang, "cancelled")
