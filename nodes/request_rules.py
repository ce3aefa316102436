"""Which browser requests may reach the pack's routes: ComfyUI's own page only.

Shared by the settings routes (key, key test, locale) and the task tab's routes, so a web page
the user happens to visit can neither replace the key nor start work through them.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


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


def write_refusal(headers: Any) -> tuple[int, str] | None:
    """Why a write (POST) must be refused, as (HTTP status, reason), or None when it may proceed."""
    if not same_origin(headers):
        return 403, "Refused: RunningHub's routes answer ComfyUI's own page only (same origin)."
    if not is_json(headers):
        return 415, "Refused: send JSON (Content-Type: application/json)."
    return None
