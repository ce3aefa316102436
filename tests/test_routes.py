"""The settings panel's routes (nodes/routes.py) against the emulator: key storage, key test, price.

The route logic is called as plain functions; the aiohttp layer is checked for its paths and for
registering only inside ComfyUI (aiohttp is ComfyUI's, not a test dependency).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
import types

import pytest

from ..nodes import routes
from ..runninghub_video.words import wording
from ..runninghub_video.remote import config
from ..runninghub_video.emulator import Emulator

OTHER_KEY = "AnotherFakeKey0123456789abcdefWXYZ"[:32]


@pytest.fixture(autouse=True)
def fresh_route_cache():
    routes._cache.clear()
    yield
    routes._cache.clear()


@pytest.fixture
def settings_only(emulator, tmp_path, monkeypatch):
    """The emulator with no key in the environment: the key must come from the settings route."""
    for name in ("RUNNINGHUB_API_KEY", "RUNNINGHUB_API_KEY_AI", "RUNNINGHUB_SITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNNINGHUB_BASE_URL", emulator.base_url)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    return emulator


def test_saved_key_is_reported_only_as_set_and_last_four(settings_only):
    key = settings_only.api_key
    status = routes.save_key("cn", key)
    assert status["sites"]["cn"] == {"set": True, "last4": key[-4:], "source": "settings", "currency": "CNY"}
    assert status["sites"]["ai"]["set"] is False
    assert key not in json.dumps(status)
    assert key not in json.dumps(routes.key_status())
    assert config.find_key("cn") == key
    if os.name == "posix":
        assert stat.S_IMODE(config.config_path().stat().st_mode) == 0o600


def test_removing_a_key_reports_not_set(settings_only):
    routes.save_key("ai", OTHER_KEY)
    assert routes.key_status()["sites"]["ai"]["set"] is True
    status = routes.save_key("ai", "")
    assert status["sites"]["ai"] == {"set": False, "last4": "", "source": "", "currency": "USD"}


def test_a_key_from_the_environment_is_reported_as_such(rh_env):
    status = routes.key_status()["sites"]
    assert status["cn"]["source"] == "environment" and status["ai"]["source"] == "environment"


def test_something_that_is_not_a_key_is_refused_in_the_browsers_language_and_not_stored(settings_only):
    with pytest.raises(routes.errors.ValidationError, match="does not look like a RunningHub API key"):
        routes.save_key("cn", "my key with spaces")
    with pytest.raises(routes.errors.ValidationError, match="^这看起来不像 RunningHub API 密钥（企业共享密钥为 32 位"):
        routes.save_key("cn", "my key with spaces", "zh-CN")
    with pytest.raises(routes.errors.ConfigError, match="Unknown site"):
        routes.save_key("eu", OTHER_KEY)
    assert routes.key_status()["sites"]["cn"]["set"] is False


def test_key_test_shows_type_balance_currency_and_concurrency(settings_only):
    routes.save_key("cn", settings_only.api_key)
    result = routes.test_key("cn")
    assert result["ok"] is True
    assert result["key_type"] == "SHARED"
    assert result["balance"] == 100.0 and result["currency"] == "CNY"
    assert result["concurrent_limit"] == settings_only.concurrent_limit
    assert settings_only.counters.money_charged == 0


def test_key_test_with_a_rejected_key_suggests_the_other_site(settings_only):
    routes.save_key("cn", OTHER_KEY)
    result = routes.test_key("cn")
    assert result["ok"] is False
    assert "runninghub.ai" in result["error"] and "save it under .ai" in result["error"]
    assert OTHER_KEY not in json.dumps(result)
    zh = routes.test_key("cn", "zh-CN")["error"]
    assert zh.startswith(".cn 站点不接受此密钥（") and "改存到 .ai" in zh


def test_key_test_without_a_key_says_where_to_put_one(settings_only):
    result = routes.test_key("ai")
    assert result["ok"] is False and result["error"] == "no API key for .ai: add one in Settings → RunningHub"
    assert "login" not in result["error"]  # inside the GUI, no CLI advice


def test_key_test_with_a_non_enterprise_shared_key_explains_1014(tmp_path, monkeypatch):
    with Emulator(key_type="PERSONAL") as emu:
        monkeypatch.delenv("RUNNINGHUB_API_KEY", raising=False)
        monkeypatch.setenv("RUNNINGHUB_BASE_URL", emu.base_url)
        monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
        routes.save_key("cn", emu.api_key)
        result = routes.test_key("cn")
    assert result["ok"] is False and result["code"] == "1014"
    assert result["error"].startswith("This key cannot run Seedance (1014): it must be an Enterprise-Shared key")
    assert result["key_type"] == "PERSONAL"  # the account itself is fine: only the key type is wrong


def test_price_without_a_key_uses_the_published_table(settings_only):
    cn = routes.price("cn", "5", "720p")
    assert cn["source"] == "table" and cn["currency"] == "CNY"
    assert cn["price"] == pytest.approx(0.75)  # docs/runninghub-api.md: v1-lite 720p 0.15 CNY/s × 5 s
    assert cn["balance"] is None
    ai = routes.price("ai", "5", "720p")
    assert ai["source"] == "none" and ai["price"] is None and ai["currency"] == "USD"
    assert settings_only.counters.requests_total == 0


def test_price_with_a_key_comes_from_price_preview_with_the_balance(settings_only):
    routes.save_key("cn", settings_only.api_key)
    info = routes.price("cn", "2", "480p")
    assert info["source"] == "preview"
    assert info["price"] == pytest.approx(0.14)  # docs/runninghub-api.md: v1-lite 480p 0.07 CNY/s × 2 s
    assert info["balance"] == 100.0
    assert settings_only.counters.price_previews == 1 and settings_only.counters.submits == 0
    assert settings_only.counters.uploads == 0  # a price is asked without putting anything in the user's storage


def test_the_caption_prices_the_nodes_own_request(settings_only):
    """Its mode, its sound switch and the reference videos connected, as the run will send them."""
    assert routes.price("cn", "5", "720p", model="seedance-2.0", videos="1")["price"] == pytest.approx(7.2)
    assert routes.price("cn", "5", "720p", model="seedance-2.0")["price"] == pytest.approx(6.0)
    text = routes.price("cn", "10", "1080p", model="seedance-1.5-pro", mode="text", sound="true")
    assert (text["price"], text["price_high"]) == (pytest.approx(7.0), None)  # 0.35 x 10, doubled with sound
    silent = routes.price("cn", "10", "1080p", model="seedance-1.5-pro", mode="frames", sound="false")
    assert silent["price"] == pytest.approx(3.5)
    tokens = routes.price("cn", "5", "720p", model="seedance-2.5")
    assert (tokens["price"], tokens["price_high"]) == (pytest.approx(9.45), pytest.approx(18.9))  # a range
    routes.save_key("cn", settings_only.api_key)
    preview = routes.price("cn", "5", "720p", model="seedance-2.0", videos="1")
    assert preview["source"] == "preview" and preview["price"] == pytest.approx(7.2)
    assert settings_only.counters.uploads == 0


def test_the_price_caption_tells_key_health_before_anything_is_spent_in_the_browsers_language(
        settings_only, tmp_path):
    assert routes.price("cn", "5", "720p")["key"] == {
        "state": "none", "problem": "no API key for .cn: add one in Settings → RunningHub"}
    assert routes.price("cn", "5", "720p", locale="zh-CN")["key"]["problem"] == \
        ".cn 没有 API 密钥：请在 设置 → RunningHub 中填写"
    routes.save_key("cn", OTHER_KEY)
    rejected = routes.price("cn", "5", "720p")
    assert rejected["key"]["state"] == "rejected" and rejected["key"]["code"]
    assert rejected["key"]["problem"].startswith(f"RunningHub rejected the .cn key ({rejected['key']['code']}): "
                                                 "check it in Settings → RunningHub (Test key)")
    assert rejected["source"] == "table"  # the published price is still shown, next to the problem
    routes.save_key("cn", settings_only.api_key)
    assert routes.price("cn", "5", "720p")["key"] == {"state": "ok"}
    assert settings_only.counters.submits == 0


def test_key_codes_read_as_plain_advice_in_both_languages():
    for code in ("802", "806", "1002", "1014"):
        en, zh = wording.key_advice(code, "cn", "en"), wording.key_advice(code, "cn", "zh")
        assert f"({code})" in en and f"（{code}）" in zh and "runninghub.cn" in en
    assert "probably a key of runninghub.ai" in wording.key_advice("806", "cn", "en")
    assert wording.key_advice("1004", "cn", "en") == ""  # not about the key: the error says it


def test_moving_the_slider_back_asks_runninghub_once_per_setting(settings_only):
    routes.save_key("cn", settings_only.api_key)
    for duration in ("5", "6", "5", "6", "5"):
        routes.price("cn", duration, "720p")
    assert settings_only.counters.price_previews == 2
    assert settings_only.counters.uploads == 0


def test_price_after_a_run_shows_the_new_balance(settings_only, monkeypatch):
    monkeypatch.setattr(routes, "_json", lambda data, status=200: (status, data))
    recorder = RouteRecorder()
    routes.add_routes(recorder)
    routes.save_key("cn", settings_only.api_key)
    assert routes.price("cn", "5", "720p")["balance"] == 100.0
    settings_only.balance = 99.25
    assert routes.price("cn", "5", "720p")["balance"] == 100.0  # cached while nothing ran
    status, data = asyncio.run(recorder.handlers[("GET", "/runninghub/price")](FakeRequest(
        query={"site": "cn", "duration": "5", "resolution": "720p", "fresh": "1"}, method="GET")))  # after a run
    assert (status, data["balance"]) == (200, 99.25)


def test_price_preview_trouble_falls_back_to_the_table(settings_only):
    routes.save_key("cn", settings_only.api_key)
    settings_only.inject("price_preview", "error_code", count=5, code="1000")
    info = routes.price("cn", "5", "720p")
    assert info["source"] == "table" and info["price"] == pytest.approx(0.75)
    assert "1000" in info["note"]


def test_bad_price_options_are_refused(settings_only):
    with pytest.raises(routes.errors.ValidationError):
        routes.price("cn", "40", "720p")


def test_a_caption_refused_for_widgets_the_model_does_not_take_says_why_in_the_browsers_language(
        settings_only, monkeypatch):
    monkeypatch.setattr(routes, "_json", lambda data, status=200: (status, data))
    recorder = RouteRecorder()
    routes.add_routes(recorder)
    query = {"site": "cn", "model": "seedance-2.0-fast", "duration": "4", "resolution": "native1080p"}
    answers = {locale: asyncio.run(recorder.handlers[("GET", "/runninghub/price")](
        FakeRequest(query={**query, "locale": locale}, method="GET"))) for locale in ("zh-CN", "en")}
    assert answers["zh-CN"] == (400, {"ok": False, "code": "option_choice", "kind": "ValidationError", "error":
                                      "输入有误：Seedance 2.0 Fast 不支持“分辨率”为 native1080p：可用 480p, 720p, 1080p, 2k, 4k"})
    assert answers["en"][1]["error"] == ("input problem: Resolution 'native1080p' is not allowed for Seedance 2.0 Fast: "
                                         "use one of 480p, 720p, 1080p, 2k, 4k.")


# --- aiohttp layer -------------------------------------------------------------------------
class RouteRecorder:
    """What ``add_routes`` needs of aiohttp's RouteTableDef: ``get``/``post`` decorators."""

    def __init__(self) -> None:
        self.handlers: dict[tuple[str, str], object] = {}

    def _add(self, method: str, path: str):
        def decorator(fn):
            self.handlers[(method, path)] = fn
            return fn
        return decorator

    def get(self, path):
        return self._add("GET", path)

    def post(self, path):
        return self._add("POST", path)


class FakeRequest:
    """What the handlers read of an aiohttp request; by default a same-origin JSON POST from ComfyUI's page."""

    def __init__(self, body=None, query=None, method="POST", headers=None, host="127.0.0.1:8188") -> None:
        self._body, self.query, self.method = body, query or {}, method
        self.headers = headers if headers is not None else {"Content-Type": "application/json", "Host": host,
                                                            "Origin": f"http://{host}"}

    async def json(self):
        if self._body is None:
            raise ValueError("no body")
        return self._body


def routes_inside_comfyui(module, monkeypatch) -> set[tuple[str, str]]:
    """The routes ``module.register()`` adds to ComfyUI's server, after checking it adds none
    (and says so) when there is no ComfyUI server to add them to."""
    monkeypatch.delitem(sys.modules, "server", raising=False)
    assert module.register() is False
    recorder = RouteRecorder()
    fake = types.ModuleType("server")
    fake.PromptServer = types.SimpleNamespace(instance=types.SimpleNamespace(routes=recorder))
    monkeypatch.setitem(sys.modules, "server", fake)
    assert module.register() is True
    return set(recorder.handlers)


def test_the_server_answers_every_path_the_frontend_asks_for_and_only_inside_comfyui(monkeypatch):
    """Both sides of each call, read from their sources: a route renamed on one side fails here."""
    from pathlib import Path

    from ..nodes import inbox_routes

    registered = {path for module in (routes, inbox_routes) for _, path in routes_inside_comfyui(module, monkeypatch)}
    js = "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "js").glob("*.js"))
    asked = ({"/runninghub" + path for path in re.findall(r"\bcall\(\s*[`\"'](/[a-z/]+)", js)}
             | set(re.findall(r"/runninghub/[a-z/]+", js)))
    assert asked == registered


def test_handlers_store_the_key_and_answer_without_it(settings_only, monkeypatch):
    monkeypatch.setattr(routes, "_json", lambda data, status=200: (status, data))
    recorder = RouteRecorder()
    routes.add_routes(recorder)
    key = settings_only.api_key
    status, data = asyncio.run(recorder.handlers[("POST", "/runninghub/key")](
        FakeRequest({"site": "cn", "key": key})))
    assert status == 200 and data["sites"]["cn"]["last4"] == key[-4:] and key not in json.dumps(data)
    status, data = asyncio.run(recorder.handlers[("POST", "/runninghub/key")](FakeRequest({"site": "xx"})))
    assert status == 400 and "Unknown site" in data["error"]
    status, data = asyncio.run(recorder.handlers[("POST", "/runninghub/key")](
        FakeRequest({"site": "cn", "key": "not a key", "locale": "zh"})))
    assert status == 400 and data["error"].startswith("这看起来不像") and data["code"] == "key_shape"
    status, data = asyncio.run(recorder.handlers[("GET", "/runninghub/price")](
        FakeRequest(query={"site": "cn", "duration": "3", "resolution": "480p"}, method="GET")))
    assert status == 200 and data["source"] == "preview"


def test_each_browser_sets_the_language_of_the_prompts_it_queues(monkeypatch):
    from ..nodes import browser_language

    monkeypatch.setattr(browser_language, "_by_client", {})
    monkeypatch.setattr(routes, "_json", lambda data, status=200: (status, data))
    recorder = RouteRecorder()
    routes.add_routes(recorder)
    post = recorder.handlers[("POST", "/runninghub/locale")]
    assert asyncio.run(post(FakeRequest({"locale": "zh-CN", "client_id": "browser-a"}))) == (200, {"language": "zh"})
    assert asyncio.run(post(FakeRequest({"locale": "ja", "client_id": "browser-b"}))) == (200, {"language": "en"})
    assert browser_language.language_for("browser-a") == "zh"  # the last browser does not win for everyone
    assert browser_language.language_for("browser-b") == "en"
    assert browser_language.language_for("a-script") == browser_language.language_for(None) == "en"
    assert asyncio.run(post(FakeRequest({"locale": "zh", "client_id": "browser-b"}))) == (200, {"language": "zh"})
    assert browser_language.language_for("browser-b") == "zh"
    assert asyncio.run(post(FakeRequest())) == (200, {"language": "en"})  # no body: English, never an error


