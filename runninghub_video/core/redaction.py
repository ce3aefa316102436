"""Keeping API keys out of every text the pack produces (errors, journal, logs, status lines).

Its own module because errors, config, api and journal all need it and none of them should
import another just for this.
"""
from __future__ import annotations

import re
import threading

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
# "Bearer <token>" and {"apikey": "<token>"} shapes, in case an unregistered key shows up.
_SECRET_SHAPES = re.compile(r'(?i)(bearer\s+|"?api_?key"?\s*[:=]\s*"?)([A-Za-z0-9_\-]{8,})')
# A URL's query: on a signed URL (an upload's, a result's) it is a credential for that file.
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>|]+)\?[^\s\"'<>|)]+")


def mask_key(key: str) -> str:
    """``****abcd``: enough to tell keys apart, never enough to use one."""
    return "****" + key[-4:] if len(key) >= 8 else "****"


def register_secret(value: str) -> None:
    """Make :func:`redact` hide ``value`` from now on."""
    if value:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Text with every known key (and anything shaped like one) masked, and every URL's query
    (the signature of a signed URL) cut to "?…"."""
    if not text:
        return text
    text = str(text)
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask_key(secret))
    text = _URL_QUERY.sub(r"\1?…", text)
    return _SECRET_SHAPES.sub(lambda m: m.group(1) + mask_key(m.group(2)), text)
