"""A task id as a person types or pastes it: normalised, or refused before any call.

Taken: the id with spaces around or inside it (copied in groups), and the address of its call
record on RunningHub's site (``https://www.runninghub.cn/call-api/call-record-detail/<id>``), as
long as that is the site the run talks to. Refused, saying what to do: an id whose digit count is
not RunningHub's (``facts.TASK_ID_DIGITS``), another site's address, and anything else.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from . import facts
from ..core.errors import ValidationError

_EXAMPLE = "2013508786110730241"
_SHOWN = "shown by the node, an error message or the CLI"


def check_task_id(task_id: object, site: str | None = None) -> str:
    """The task id in ``task_id``, or a ValidationError naming the problem. ``site`` ("cn", "ai"):
    the site the id will be asked on; an address of the other site's call record is refused."""
    text = str(task_id or "").strip()
    linked = _call_record(text)
    if linked is not None:
        linked_site, text = linked
        if site is not None and linked_site != site:
            raise ValidationError(
                f"That is the address of a task of .{linked_site} (runninghub.{linked_site}), but the site "
                f"chosen is .{site}: choose the site {linked_site} (the node's site, or --site {linked_site}).",
                advice="Nothing was sent.", code="task_id_site", details={"linked": linked_site, "chosen": site})
    digits = "".join(text.split())
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError(f"{text[:40]!r} is not a RunningHub task id: it is a long number such as {_EXAMPLE} "
                              f"({_SHOWN}).", advice="Nothing was sent.", code="task_id", details={"value": text[:40]})
    if len(digits) != facts.TASK_ID_DIGITS:
        raise ValidationError(f"{digits[:40]!r} is not a RunningHub task id: it has {len(digits)} digits and a task "
                              f"id has {facts.TASK_ID_DIGITS}, such as {_EXAMPLE}; copy it whole ({_SHOWN}).",
                              advice="Nothing was sent.", code="task_id_length",
                              details={"value": digits[:40], "digits": len(digits), "expected": facts.TASK_ID_DIGITS})
    return digits


def _call_record(text: str) -> tuple[str, str] | None:
    """(site, the rest of the path) when ``text`` is the address of a call record on a RunningHub site."""
    if facts.CALL_RECORD_DETAIL_PATH not in text:
        return None
    address = urlsplit(text if "://" in text else f"https://{text}")
    host = (address.hostname or "").removeprefix("www.")
    site = next((s for s, base in facts.SITES.items() if (urlsplit(base).hostname or "").removeprefix("www.") == host),
                None)
    if site is None or not address.path.startswith(facts.CALL_RECORD_DETAIL_PATH):
        return None
    return site, address.path[len(facts.CALL_RECORD_DETAIL_PATH):].strip("/")
