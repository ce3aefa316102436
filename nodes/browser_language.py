"""Which language each browser reads, so a prompt's status lines speak the language of the browser
that queued it.

Each browser posts its ComfyUI locale with its websocket client id (``POST /runninghub/locale``)
and a prompt carries the client id of the browser that queued it. The words themselves are in
the client's :mod:`wording` module.
"""
from __future__ import annotations

from typing import Any

from ..runninghub_video.words import wording

MAX_CLIENTS = 256  # browsers remembered; the oldest is forgotten first
_by_client: dict[str, str] = {}


def set_language(locale: Any, client_id: Any = None) -> str:
    """Remember the ComfyUI locale of the browser ``client_id``; returns the language used."""
    lang = wording.language_of(locale)
    if client_id:
        _by_client.pop(str(client_id), None)
        _by_client[str(client_id)] = lang
        while len(_by_client) > MAX_CLIENTS:
            del _by_client[next(iter(_by_client))]
    return lang


def language_for(client_id: Any) -> str:
    """The language of the browser that queued a prompt; English for scripts and unknown browsers."""
    return _by_client.get(str(client_id), wording.EN) if client_id else wording.EN
