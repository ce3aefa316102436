"""Routes of the RunningHub sidebar tab (js/inbox.js): the task inbox, spend totals, the daily
budget, thumbnails, one-click recovery, and the references converted for real people.

They read the journal and the asset cache (never RunningHub) and never show the key; the only
writes are the budget file (set, or set again over a damaged one, kept aside), a recovery, which downloads a task's video by id like the Fetch Task
node (no new submit, nothing paid again), and deleting a converted reference (on the site, with
the key, and from the cache). Like the key routes, every route answers only requests addressed to this
ComfyUI from its own page, and writes take JSON (:class:`routes.Guarded`).
Each route's logic is a plain function so tests run it without a server.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from . import comfy_bridge as bridge
from ..runninghub_video.core import errors, money, redaction
from ..runninghub_video.remote import config, facts
from ..runninghub_video.remote.task_id import check_task_id
from ..runninghub_video.words import wording
from .routes import Guarded, _body, _json, error_answer
from .routes import register as register_routes

log = logging.getLogger("RunningHub")

PREFIX = "/runninghub"
THUMB_CACHE = 256  # thumbnails kept in memory (~10 KB each)

_recoveries: dict[tuple[str, str], dict] = {}  # (site, task id) -> {"running": bool, "error": str}
_recoveries_lock = threading.Lock()
_thumbs: dict[tuple[str, float, int], bytes] = {}
_thumbs_lock = threading.Lock()


# --- plain logic ---------------------------------------------------------------------------
def _site(site: Any) -> str:
    return config.check_site(str(site or ""))


def _worded(task: dict, lang: str) -> dict:
    """The row's reason in ``lang`` (wording.row_reason); the English message its row keeps, when the
    line says it otherwise, goes along as ``error_detail`` (the tab shows it on hover)."""
    price = money.parse(task.get("price"), task["currency"])
    kept = task["error"]
    task["error"] = wording.row_reason(task["error_code"], task["site"], lang, price=price, message=kept,
                                       task_id=task["task_id"] or "")
    task["error_detail"] = kept if kept != task["error"] else ""
    return task


def _with_recovery(task: dict, lang: str) -> dict:
    with _recoveries_lock:
        recovery = dict(_recoveries.get((task["site"], task["task_id"] or ""), {}))
    task["recovering"] = bool(recovery.get("running"))
    failure = recovery.get("failure")  # the pack's error: worded in the tab's language
    task["recover_error"] = wording.error_line(failure, lang, site=task["site"]) if failure else recovery.get("error", "")
    if task["recovering"]:
        task["recoverable"] = False
    return task


def tasks(site: str | None = None, limit: Any = None, before: str | None = None, locale: Any = None) -> dict:
    """A page of the inbox (newest first), the spend totals and each site's budget figures; a run the
    pack refused says why in the browser's language (``locale``)."""
    from ..runninghub_video.ledger import inbox

    if site:
        _site(site)
    try:
        limit = int(limit) if limit not in (None, "") else inbox.PAGE_SIZE
    except (TypeError, ValueError):
        raise errors.ValidationError(f"limit must be a whole number, not {str(limit)[:20]!r}.") from None
    lang = wording.language_of(locale)
    page = inbox.page(limit=limit, before=before or None, site=site or None)
    page["tasks"] = [_with_recovery(_worded(task, lang), lang) for task in page["tasks"]]
    page["totals"] = inbox.totals()
    page["budgets"] = {}
    budget = budgets(locale)  # a damaged budget file: the tasks still show, runs are refused, the tab says so
    page["budgets" if "sites" in budget else "budget_error"] = budget.get("sites", budget.get("error"))
    return page


def budgets(locale: Any = None) -> dict:
    """Per site: the daily budget (None = off) with today's spend, running estimate and currency; or,
    when the budget file is damaged (every run is refused), the line saying so and what to do, in the
    browser's language (``locale``)."""
    from ..runninghub_video.run import spend

    try:
        return {"sites": {site: spend.status(site).as_json() for site in facts.SITES}}
    except spend.BudgetFileError as exc:
        return {"error": wording.error_line(exc, wording.language_of(locale)), "code": exc.code}


def save_budget(site: str, amount: Any, locale: Any = None) -> dict:
    from ..runninghub_video.run import spend

    try:
        spend.set_daily_budget(_site(site), amount)
    except spend.BudgetFileError:
        pass  # not stored: the answer says why, as reading the budgets does
    return budgets(locale)


def reset_budget(site: Any, amount: Any, no_budget: Any = False, locale: Any = None) -> dict:
    """Set the budget of ``site`` over a damaged budget file (kept aside): an amount, or no budget
    when ``no_budget`` is true. The answer is :func:`budgets` with ``kept_as`` (where the damaged
    file went, "" when it was sound) and ``note`` saying so in the browser's language."""
    from ..runninghub_video.run import spend

    _, kept = spend.reset_daily_budget(_site(site), amount, no_budget=no_budget is True)
    lang = wording.language_of(locale)
    note = wording.budget_kept_aside(kept.path, kept.held, lang) if kept else ""
    return {**budgets(locale), "kept_as": str(kept.path) if kept else "", "note": note}


def video_file(site: str, task_id: str) -> Path:
    """The saved video of a journaled task (only files the journal recorded are ever served)."""
    from ..runninghub_video.ledger import inbox

    site = _site(site)
    task_id = check_task_id(task_id, site)
    task = inbox.task(site, task_id)
    if task is None:
        raise errors.ValidationError(f"Task {task_id} of .{site} is not in the journal.")
    if not task["video_path"] or Path(task["video_path"]).suffix.lower() != ".mp4":
        raise errors.ValidationError(f"Task {task_id} has no saved video on this machine: recover it first.")
    return Path(task["video_path"])


def thumbnail(site: str, task_id: str) -> bytes:
    """The first frame of the task's saved video as a JPEG (cached per file version)."""
    path = video_file(site, task_id)
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    with _thumbs_lock:
        if key in _thumbs:
            return _thumbs[key]
    from ..runninghub_video.media import decode

    data = decode.first_frame_jpeg(path)
    with _thumbs_lock:
        if len(_thumbs) >= THUMB_CACHE:
            _thumbs.pop(next(iter(_thumbs)))
        _thumbs[key] = data
    return data


def recover(site: str, task_id: str, row: Any = None) -> dict:
    """Download a task's video by id in the background, paying nothing again (like Fetch Task).

    ``row``: an ambiguous submit's journal row the user found this task id for on the site; the
    row takes the id, so re-queuing that graph reuses the video too."""
    site = _site(site)
    task_id = check_task_id(task_id, site)
    if row not in (None, ""):
        _claim(site, task_id, row)
    from ..runninghub_video.ledger import inbox

    if inbox.is_followed(task_id):
        return {"started": False, "site": site, "task_id": task_id, "note": "already being waited for"}
    with _recoveries_lock:
        if _recoveries.get((site, task_id), {}).get("running"):
            return {"started": False, "site": site, "task_id": task_id, "note": "already recovering"}
        _recoveries[(site, task_id)] = {"running": True}
    threading.Thread(target=_recover, args=(site, task_id), name=f"runninghub-recover-{task_id}",
                     daemon=True).start()
    return {"started": True, "site": site, "task_id": task_id}


def _claim(site: str, task_id: str, row: Any) -> None:
    try:
        row_id = int(row)
    except (TypeError, ValueError):
        raise errors.ValidationError(f"row must be a journal row number, not {str(row)[:20]!r}.") from None
    from ..runninghub_video.ledger import inbox, journal

    view = inbox.find(row_id)
    if view is None or view["site"] != site or view["phase"] != "ambiguous" or view["task_id"]:
        raise errors.ValidationError("Only an ambiguous submit without a task id can take a task id.")
    # the person's own choice: taken without the checks of an automatic match, also for an id fetched
    # before (that fetch's video comes along), but never for the task of another request
    journal.Journal().attach_task(row_id, task_id)


def _recover(site: str, task_id: str) -> None:
    error, failure = "", None
    try:
        from ..runninghub_video.run import pipeline

        pipeline.fetch_task(task_id, site=site, output_dir=bridge.output_directory())
    except errors.RunningHubError as exc:
        error, failure = str(exc), exc
    except Exception as exc:  # the thread must always clear its "running" mark
        log.warning("RunningHub: recovering task %s failed", task_id, exc_info=True)
        error = redaction.redact(f"{type(exc).__name__}: {exc}")
    with _recoveries_lock:
        _recoveries[(site, task_id)] = {"running": False, "error": error, **({"failure": failure} if failure else {})}


def converted_references() -> dict:
    """References converted for real people (the asset cache; no network)."""
    from ..runninghub_video.run import real_person

    return {"assets": real_person.converted()}


def converted_thumbnail(site: str, asset_id: Any) -> bytes:
    from ..runninghub_video.run import real_person

    data = real_person.converted_thumbnail(_site(site), str(asset_id or ""))
    if data is None:
        raise errors.ValidationError("No thumbnail is kept for this converted reference.")
    return data


def delete_converted(site: str, asset_id: Any) -> dict:
    """Delete a converted reference on the site (with the node's key) and from the cache."""
    from ..runninghub_video.run import real_person

    return real_person.delete_converted(_site(site), str(asset_id or ""))


# --- aiohttp -------------------------------------------------------------------------------
def _answer(kind: str, payload: Any, status: int = 200):
    from aiohttp import web

    if kind == "jpeg":
        return web.Response(body=payload, content_type="image/jpeg", headers={"Cache-Control": "no-cache"})
    return web.FileResponse(payload, headers={"Content-Type": "video/mp4"})


async def _run(fn: Callable[..., Any], *args: Any, kind: str = "json", locale: Any = None) -> Any:
    """``fn`` in a thread (it reads files and the journal); a user-facing error becomes a 400 answer,
    worded in the browser's language where the request says it (``locale``)."""
    import asyncio

    try:
        result = await asyncio.to_thread(fn, *args)
    except errors.RunningHubError as exc:
        return _json(error_answer(exc, locale), 400)
    return _json(result) if kind == "json" else _answer(kind, result)


def add_routes(routes) -> None:
    """Add the tab's handlers to an aiohttp ``RouteTableDef`` (ComfyUI's ``PromptServer.instance.routes``)."""
    routes = Guarded(routes, lambda data, status: _json(data, status))

    @routes.get(f"{PREFIX}/tasks")
    async def get_tasks(request):
        q = request.query
        return await _run(tasks, q.get("site") or None, q.get("limit"), q.get("before") or None, q.get("locale"),
                          locale=q.get("locale"))

    @routes.get(f"{PREFIX}/tasks/thumb")
    async def get_thumb(request):
        return await _run(thumbnail, request.query.get("site"), request.query.get("task_id"), kind="jpeg")

    @routes.get(f"{PREFIX}/tasks/video")
    async def get_video(request):
        return await _run(video_file, request.query.get("site"), request.query.get("task_id"), kind="file")

    @routes.post(f"{PREFIX}/tasks/recover")
    async def post_recover(request):
        data = await _body(request)
        return await _run(recover, data.get("site"), data.get("task_id"), data.get("row"), locale=data.get("locale"))

    @routes.get(f"{PREFIX}/assets")
    async def get_assets(request):
        return await _run(converted_references)

    @routes.get(f"{PREFIX}/assets/thumb")
    async def get_asset_thumb(request):
        return await _run(converted_thumbnail, request.query.get("site"), request.query.get("asset_id"), kind="jpeg")

    @routes.post(f"{PREFIX}/assets/delete")
    async def post_asset_delete(request):
        data = await _body(request)
        return await _run(delete_converted, data.get("site"), data.get("asset_id"), locale=data.get("locale"))

    @routes.get(f"{PREFIX}/budget")
    async def get_budget(request):
        locale = request.query.get("locale")
        return await _run(budgets, locale, locale=locale)

    @routes.post(f"{PREFIX}/budget")
    async def post_budget(request):
        data = await _body(request)
        locale = data.get("locale")
        return await _run(save_budget, data.get("site"), data.get("amount"), locale, locale=locale)

    @routes.post(f"{PREFIX}/budget/reset")
    async def post_budget_reset(request):
        data = await _body(request)
        locale = data.get("locale")
        return await _run(reset_budget, data.get("site"), data.get("amount"), data.get("no_budget"), locale,
                          locale=locale)


def register() -> bool:
    """Add the routes to the running ComfyUI server; outside ComfyUI do nothing."""
    return register_routes(add_routes, "the task inbox routes")
