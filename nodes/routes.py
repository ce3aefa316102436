"""The pack's few HTTP routes for its ComfyUI extension (js/runninghub.js): key, key test, price,
and the UI language for the node's status text.

The key travels browser → this route → the config file (private to the user where the OS has
file modes) and never back: answers carry only "set / not set", where it came from and its last 4
characters. Every route answers only requests addressed to this ComfyUI from its own page, and
writes (every POST) must be JSON (:mod:`.request_rules`, applied by :class:`Guarded`), so a web page
the user visits cannot replace the key or burn money through the test route. Each route's logic is a plain function (``key_status``, ``save_key``, ``test_key``, ``price``, ``set_locale``) so tests run it
without a server; the aiohttp handlers only parse the request and run that function (in a thread
when it may block).
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable

from . import browser_language
from ..runninghub_video.core import errors
from ..runninghub_video.remote import config, facts, models
from ..runninghub_video.remote import request as client_request
from ..runninghub_video.words import wording
from .request_rules import refusal

log = logging.getLogger("RunningHub")

PREFIX = "/runninghub"
PRICE_CACHE_S = 600.0  # a price does not change while the user drags a slider
BALANCE_CACHE_S = 60.0

_cache: dict[tuple, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


# --- plain logic ---------------------------------------------------------------------------
def key_status() -> dict:
    """Per site: whether a key is set, its source and last 4 characters (never more)."""
    sites = {}
    for site in facts.SITES:
        key, source = config.key_and_source(site)
        sites[site] = {"set": bool(key), "last4": key[-4:] if len(key) >= 8 else "",
                       "source": source, "currency": facts.SITE_CURRENCY[site]}
    return {"sites": sites}


def save_key(site: str, key: str | None, locale: Any = None) -> dict:
    """Store (or with an empty key remove) the key of ``site`` in the config file (private to the
    user where the OS has file modes). Text that is no key is refused in the browser's language."""
    try:
        config.write_key(site, key or None)  # checks the site and the key's shape (as `login` does)
    except errors.ValidationError as exc:
        exc.args = (wording.error_line(exc, wording.language_of(locale), site=site),)
        raise
    _forget(site)
    return key_status()


def set_locale(locale: Any, client_id: Any = None) -> dict:
    """The browser's "Comfy.Locale" and websocket client id: prompts it queues speak its language."""
    return {"language": browser_language.set_language(locale, client_id)}


def _client(site: str):
    from ..runninghub_video.remote import api

    return api.RunningHubClient(config.load_settings(site))


def _key_health(exc: errors.RunningHubError | None, site: str, lang: str) -> dict:
    """What a failed call (``exc``; None: there is no key) says about the key: missing, rejected, of
    the wrong type, or nothing (another problem); ``problem`` is the line the node shows."""
    if exc is None:
        state = "none"
    elif isinstance(exc, errors.KeyTypeError):
        state = "wrong_type"
    elif isinstance(exc, errors.AuthError):
        state = "rejected"
    else:
        return {"state": "unknown"}
    health = {"state": state, "problem": wording.key_problem(exc, site, lang)}
    return health if exc is None else {**health, "code": exc.code}


def test_key(site: str, locale: Any = None) -> dict:
    """Account status + queue status with the stored key, or the problem in plain words, in the
    browser's language (``wording.key_test_line``)."""
    config.check_site(site)
    lang = wording.language_of(locale)
    try:
        with _client(site) as client:
            account = client.account_status()
            queue = client.queue_status()
            problem = _key_type_problem(client)
    except errors.RunningHubError as exc:
        no_key = isinstance(exc, errors.ConfigError) and not config.find_key(site)
        return {"ok": False, "site": site, "error": wording.key_test_line(exc, site, lang, no_key=no_key),
                "code": exc.code, "kind": type(exc).__name__}
    _remember(("account", site), account)
    result = {"ok": problem is None, "site": site, "key_type": queue.api_key_type or account.api_type,
              **_amount("balance", account.balance, site, "currency"), "coins": account.remain_coins,
              "concurrent_limit": queue.concurrent_limit, "running": queue.running, "queued": queue.queued}
    if problem is not None:
        result.update(error=wording.key_test_line(problem, site, lang), code=problem.code,
                      kind=type(problem).__name__)
    return result


def _key_type_problem(client) -> errors.RunningHubError | None:
    """1014 shows only on a model call: a price preview is the cheapest one (nothing is charged)."""
    try:
        _preview(client, client_request.VideoRequest(client_request.PREVIEW_PROMPT).validated())
    except errors.KeyTypeError as exc:
        return exc
    except errors.RunningHubError:
        return None  # any other trouble is the price's, not the key's
    return None


def price(site: str, duration: str | None, resolution: str | None, model: str = models.DEFAULT_MODEL,
          locale: Any = None, mode: str = "", sound: str | None = None, videos: str | None = None) -> dict:
    """The estimated price of one run and the balance when known: the node's request as far as its
    widgets say (``mode`` of the node, ``sound`` = its generate_audio, ``videos`` = how many reference
    videos are connected), priced by :func:`pricing.quote` (the preview where it answers, else the
    model table; ``price_high`` when only a range can be known).

    ``source``: "preview" (RunningHub's price preview, needs a key), "table" (the published
    price) or "none" (no published price for this site: shown after the run).
    ``key``: the key's health, with the line about a problem in the browser's language (``locale``)."""
    config.check_site(site)
    spec = models.get(model)
    mode = mode or spec.modes[0]
    counts = {models.VIDEO: _count(videos)}
    if mode == models.FRAMES:
        counts[models.FIRST_FRAME] = 1
    elif mode == models.REFERENCE and not counts[models.VIDEO]:
        counts[models.IMAGE] = 1  # a reference of some kind: an image stands in
    audio = None if sound is None or spec.endpoint(mode) is None or \
        spec.endpoint(mode).option("generate_audio") is None else sound.lower() == "true"
    request = client_request.VideoRequest(prompt=client_request.PREVIEW_PROMPT, duration=duration,
                                          resolution=resolution, model=spec.id, mode=mode,
                                          generate_audio=audio).with_references(counts).validated()
    table = request.table_price(site)
    out: dict[str, Any] = {"site": site, "model": request.model, "duration": request.duration,
                           "resolution": request.resolution, **_range(table, site),
                           "source": "none" if table is None else "table", "balance": None}
    if not config.find_key(site):
        out["key"] = _key_health(None, site, wording.language_of(locale))
        return out
    try:
        key = ("price", site, request.model, request.mode, request.duration, request.resolution,
               request.generate_audio, request.references)
        preview, account = _cached(key, PRICE_CACHE_S), _cached(("account", site), BALANCE_CACHE_S)
        if preview is None or account is None:
            with _client(site) as client:
                if preview is None:
                    preview = _remember(key, _preview(client, request))
                if account is None:
                    account = _remember(("account", site), client.account_status())
    except errors.RunningHubError as exc:
        out["note"] = str(exc)
        out["key"] = _key_health(exc, site, wording.language_of(locale))
        return out
    out["key"] = {"state": "ok"}
    if preview.price is not None and preview.price.currency == facts.SITE_CURRENCY[site]:
        out.update(**_amount("price", preview.price, site, "currency"), price_high=None, source="preview",
                   text=preview.price_text)
    out.update(_amount("balance", account.balance, site, "balance_currency"))
    return out


def _count(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _range(price, site: str) -> dict:
    """A price (exact or a range) in a JSON answer: ``price`` its low end, ``price_high`` its top
    when it is a range (else None), ``currency``."""
    if price is None:
        return {**_amount("price", None, site, "currency"), "price_high": None}
    return {**_amount("price", price.low, site, "currency"),
            "price_high": None if price.is_exact else price.high.number()}


def _amount(name: str, amount, site: str, currency_name: str) -> dict:
    """An amount of money in a JSON answer (js/format.js shows it): ``{name: number or None,
    currency_name: code}``; the site's currency when the amount is unknown."""
    return {name: None if amount is None else amount.number(),
            currency_name: facts.SITE_CURRENCY[site] if amount is None else amount.currency}


def _preview(client, request):
    """RunningHub's price preview for a validated request (nothing is uploaded to ask)."""
    from ..runninghub_video.remote import pricing

    return pricing.preview_price(client, request)


def _cached(key: tuple, max_age_s: float) -> Any:
    with _cache_lock:
        hit = _cache.get(key)
    return hit[1] if hit is not None and time.monotonic() - hit[0] < max_age_s else None


def _remember(key: tuple, value: Any) -> Any:
    with _cache_lock:
        _cache[key] = (time.monotonic(), value)
    return value


def forget_balance(site: str) -> None:
    """After a run: the next price asks RunningHub for the balance again."""
    with _cache_lock:
        _cache.pop(("account", site), None)


def _forget(site: str) -> None:
    """A new key may belong to another account: drop its cached balance and prices."""
    with _cache_lock:
        for key in [k for k in _cache if site in k[1:2]]:
            del _cache[key]


# --- aiohttp -------------------------------------------------------------------------------
def _json(data: dict, status: int = 200):
    from aiohttp import web

    return web.json_response(data, status=status)


async def _run(fn: Callable[..., dict], *args: Any, locale: Any = None) -> Any:
    """``fn`` in a thread (it may block on the network); a user-facing error becomes a 400 answer."""
    import asyncio

    try:
        return _json(await asyncio.to_thread(fn, *args))
    except errors.RunningHubError as exc:
        return _json(error_answer(exc, locale), 400)


def error_answer(exc: errors.RunningHubError, locale: Any = None) -> dict:
    """A user-facing error as a route answers it: its line in the browser's language where the request
    says it (``locale``: the page shows it as it comes), else the whole English message."""
    said = str(exc) if locale is None else wording.error_line(exc, wording.language_of(locale))
    return {"ok": False, "error": said, "code": exc.code, "kind": type(exc).__name__}


class Guarded:
    """An aiohttp ``RouteTableDef`` whose every handler runs behind :func:`request_rules.refusal`
    (GET: Host and origin; POST: also JSON), so no route of the pack can be added unguarded.
    ``answer(data, status)`` writes a refusal; each refusal is one log line."""

    def __init__(self, routes: Any, answer: Callable[[dict, int], Any]) -> None:
        self._routes, self._answer = routes, answer

    def get(self, path: str) -> Callable:
        return lambda handler: self._routes.get(path)(self._guard(handler, path, write=False))

    def post(self, path: str) -> Callable:
        return lambda handler: self._routes.post(path)(self._guard(handler, path, write=True))

    def _guard(self, handler: Callable, path: str, *, write: bool) -> Callable:
        import functools

        from .comfy_bridge import listen_addresses

        @functools.wraps(handler)
        async def checked(request):
            refused = refusal(request.headers, listen_addresses(), write=write)
            if refused is None:
                return await handler(request)
            log.warning("RunningHub: refused %s %s (HTTP %d): %s", "POST" if write else "GET", path, *refused)
            return self._answer({"ok": False, "error": refused[1], "kind": "Refused"}, refused[0])

        return checked


async def _body(request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def add_routes(routes) -> None:
    """Add the pack's handlers to an aiohttp ``RouteTableDef`` (ComfyUI's ``PromptServer.instance.routes``)."""
    routes = Guarded(routes, lambda data, status: _json(data, status))

    @routes.get(f"{PREFIX}/key")
    async def get_key(request):
        return await _run(key_status)

    @routes.post(f"{PREFIX}/key")
    async def post_key(request):
        data = await _body(request)
        return await _run(save_key, str(data.get("site", "")), str(data.get("key") or ""), data.get("locale"))

    @routes.post(f"{PREFIX}/key/test")
    async def post_key_test(request):
        data = await _body(request)
        return await _run(test_key, str(data.get("site", "")), data.get("locale"))

    @routes.post(f"{PREFIX}/locale")
    async def post_locale(request):
        data = await _body(request)
        return _json(set_locale(data.get("locale"), data.get("client_id")))

    @routes.get(f"{PREFIX}/price")
    async def get_price(request):
        q = request.query
        site = q.get("site", facts.DEFAULT_SITE)
        if q.get("fresh") == "1":  # asked after a run
            forget_balance(site)
        return await _run(price, site, q.get("duration"), q.get("resolution"), q.get("model", models.DEFAULT_MODEL),
                          q.get("locale"), q.get("mode", ""), q.get("generate_audio"), q.get("videos"),
                          locale=q.get("locale"))


def register(add: Callable[[Any], None] = add_routes, what: str = "the settings routes") -> bool:
    """Add the routes (``add``) to the running ComfyUI server; outside ComfyUI (no ``server`` module) do nothing."""
    server = sys.modules.get("server")
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    if instance is None or not hasattr(instance, "routes"):
        return False
    try:
        add(instance.routes)
    except Exception:  # a route problem must not stop the nodes from loading
        log.warning("RunningHub: could not add %s", what, exc_info=True)
        return False
    return True
