"""Every route of the pack answers only its own server (nodes/request_rules.py): DNS rebinding,
where the attacker's page and its requests both name the attacker's domain, gets 403 and one log
line, on reads and writes alike. The routes run through a recorder of their aiohttp handlers."""
from __future__ import annotations

import asyncio
import importlib
import logging

import pytest

from ..nodes import inbox_routes, routes
from ..runninghub_video.remote import config
from ..runninghub_video.run import spend
from .test_routes import RouteRecorder

ATTACKER_KEY = "AttackerKey0123456789abcdefABCDEF"
BODIES = {"/runninghub/key": {"site": "cn", "key": ATTACKER_KEY}, "/runninghub/key/test": {"site": "cn"},
          "/runninghub/locale": {"locale": "zh"}, "/runninghub/budget": {"site": "cn", "amount": 1_000_000},
          "/runninghub/budget/reset": {"site": "cn", "amount": 1_000_000},
          "/runninghub/tasks/recover": {"site": "cn", "task_id": "2000000000000000004"},
          "/runninghub/assets/delete": {"site": "cn", "asset_id": "asset-1"}}


class Request:
    def __init__(self, host: str | None, path: str, origin: str | None = None, body: dict | None = None) -> None:
        self.headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
        if host is not None:
            self.headers["Host"] = host
        if origin is not None:
            self.headers["Origin"] = origin
        self.query = {"site": "cn", "task_id": "2000000000000000004", "duration": "5", "resolution": "720p"}
        self._body = body if body is not None else BODIES.get(path, {})

    async def json(self):
        return self._body


@pytest.fixture
def every_route(rh_env, monkeypatch, tmp_path):
    """(method, path) → handler for every route the pack adds, answers as (status, data)."""
    for module in (routes, inbox_routes):
        monkeypatch.setattr(module, "_json", lambda data, status=200: (status, data))
    monkeypatch.setattr(inbox_routes, "_answer", lambda kind, payload, status=200: (status, kind))
    monkeypatch.setattr(inbox_routes.bridge, "output_directory", lambda: tmp_path / "output")
    monkeypatch.setattr(inbox_routes, "_recoveries", {})
    recorder = RouteRecorder()
    routes.add_routes(recorder)
    inbox_routes.add_routes(recorder)
    assert len(recorder.handlers) >= 14
    return recorder.handlers


@pytest.fixture
def comfy_listens_on(monkeypatch):
    """ComfyUI's parsed command line (imported by ComfyUI before it loads any pack)."""
    cli_args = importlib.import_module("comfy.cli_args")

    def listen(value: str) -> None:
        monkeypatch.setattr(cli_args.args, "listen", value)
    return listen


def answer(handler, request):
    result = asyncio.run(handler(request))
    return result[0] if isinstance(result, tuple) else 200


def test_dns_rebinding_gets_403_from_every_route_and_changes_nothing(every_route, rh_env, caplog):
    caplog.set_level(logging.WARNING, logger="RunningHub")
    for (method, path), handler in every_route.items():
        caplog.clear()
        request = Request("evil.example:8188", path, origin="http://evil.example:8188")
        assert answer(handler, request) == 403, (method, path)
        refusals = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == 1 and "evil.example:8188" in refusals[0].getMessage()
    assert config.find_key("cn") == rh_env.api_key  # the environment's, not the attacker's
    assert config.read_config_file() == {} and spend.daily_budgets() == {}
    assert not inbox_routes._recoveries and rh_env.counters.requests_total == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8188", "localhost.evil.example:8188",
                                  "127.0.0.1.nip.io:8188", "", None, "127.0.0.1:8188/x", "user@127.0.0.1:8188",
                                  "127.0.0.1:port"])
def test_a_host_that_is_not_this_server_is_refused(every_route, host):
    assert answer(every_route[("GET", "/runninghub/budget")], Request(host, "/runninghub/budget")) == 403


@pytest.mark.parametrize("host", ["127.0.0.1:8188", "localhost:8188", "LOCALHOST", "localhost.:8188",
                                  "comfy.localhost:8188", "[::1]:8188", "192.168.1.20:8188", "10.0.0.5"])
def test_loopback_names_and_ip_addresses_are_this_server(every_route, host):
    budget = every_route[("POST", "/runninghub/budget")]
    assert answer(budget, Request(host, "/runninghub/budget", origin=f"http://{host}",
                                  body={"site": "cn", "amount": 2})) == 200
    assert answer(every_route[("GET", "/runninghub/tasks")], Request(host, "/runninghub/tasks")) == 200


def test_the_name_comfyui_listens_on_is_this_server(every_route, comfy_listens_on):
    get = every_route[("GET", "/runninghub/key")]
    assert answer(get, Request("studio.lan:8188", "/runninghub/key")) == 403
    comfy_listens_on("127.0.0.1,studio.lan")
    assert answer(get, Request("studio.lan:8188", "/runninghub/key")) == 200
    assert answer(get, Request("other.lan:8188", "/runninghub/key")) == 403


def test_same_origin_and_json_still_hold_for_this_servers_host(every_route):
    post = every_route[("POST", "/runninghub/budget")]
    request = Request("127.0.0.1:8188", "/runninghub/budget", origin="http://evil.example:8188")
    assert answer(post, request) == 403
    request = Request("127.0.0.1:8188", "/runninghub/budget")
    request.headers["Content-Type"] = "text/plain"
    assert answer(post, request) == 415
    assert spend.daily_budgets() == {}


def test_a_name_given_in_runninghub_allowed_hosts_is_this_server(every_route, monkeypatch):
    get = every_route[("GET", "/runninghub/key")]
    monkeypatch.setenv("RUNNINGHUB_ALLOWED_HOSTS", "comfy.example.org, *.proxy.example")
    for host in ("comfy.example.org", "abc-8188.proxy.example:443"):
        assert answer(get, Request(host, "/runninghub/key")) == 200, host
    for host in ("example.org", "proxy.example.evil.example", "evil.example"):
        assert answer(get, Request(host, "/runninghub/key")) == 403, host
