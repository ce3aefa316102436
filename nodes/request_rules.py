"""Which requests may reach the pack's routes: ComfyUI's own page, addressed to this ComfyUI.

Shared by the settings routes (key, key test, locale, price) and the task tab's routes, so a web
page the user happens to visit can neither replace the key, set the budget nor start work
through them. Every route, reads included, answers only a ``Host`` this server is: a loopback name,
an IP address, or an address ComfyUI was told to listen on. That stops DNS rebinding, where the
attacker's page and the requests it sends both name the attacker's domain (Host and Origin both
``evil.example:8188``), which a same-origin check alone lets through. Writes must moreover be
same-origin JSON (a form or ``text/plain`` POST needs no preflight).
"""
from __future__ import annotations

import ipaddress
import os
from typing import Any, Iterable
from urllib.parse import urlsplit

LOOPBACK_NAME = "localhost"  # and every name under it (RFC 6761: they resolve to loopback only)
# More names this server answers to, comma-separated ("*.example" takes every name under it): for a
# ComfyUI reached through a proxy or by a DNS name (a cloud GPU's proxy address, a LAN name).
ALLOWED_HOSTS_ENV = "RUNNINGHUB_ALLOWED_HOSTS"


def _host_name(host: str) -> str | None:
    """The name or address of a ``Host`` header ("127.0.0.1:8188", "[::1]:8188", "localhost"), or
    None when it is not one host with an optional port."""
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018 -- a port that is not a number raises here
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname.rstrip(".")


def is_own_host(headers: Any, listen: Iterable[str] = ()) -> bool:
    """The request is addressed to this server: its Host is a loopback name, an IP address, one of
    ``listen`` (the addresses ComfyUI listens on, ``--listen``) or of ``RUNNINGHUB_ALLOWED_HOSTS``."""
    name = _host_name(str(headers.get("Host") or "").strip())
    if not name:
        return False
    if name == LOOPBACK_NAME or name.endswith("." + LOOPBACK_NAME):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    names = {str(address).strip().lower().rstrip(".") for address in listen}
    names |= {n.strip().lower().rstrip(".") for n in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if n.strip()}
    return name in names or any(n.startswith("*.") and name.endswith(n[1:]) for n in names)


def same_origin(headers: Any) -> bool:
    """A browser request from ComfyUI's own page (or no browser at all): Origin, when sent, names
    the Host; Sec-Fetch-Site, when sent, is same-origin or none."""
    site = headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return False
    origin = headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == str(headers.get("Host", "")).lower()


def is_json(headers: Any) -> bool:
    """A JSON body: browsers cannot send this type cross-origin without a preflight that ComfyUI does not grant."""
    return str(headers.get("Content-Type", "")).split(";")[0].strip().lower() == "application/json"


def refusal(headers: Any, listen: Iterable[str] = (), *, write: bool) -> tuple[int, str] | None:
    """Why a request must be refused, as (HTTP status, reason), or None when it may proceed."""
    if not is_own_host(headers, listen):
        host = str(headers.get("Host") or "")[:80]
        return 403, (f"Refused: RunningHub's routes answer requests addressed to this ComfyUI only (Host {host!r} "
                     "is not a loopback name, an IP address or an address ComfyUI listens on; a name this "
                     f"ComfyUI really has, e.g. behind a proxy, can be added to {ALLOWED_HOSTS_ENV}).")
    if not same_origin(headers):
        return 403, "Refused: RunningHub's routes answer ComfyUI's own page only (same origin)."
    if write and not is_json(headers):
        return 415, "Refused: send JSON (Content-Type: application/json)."
    return None
