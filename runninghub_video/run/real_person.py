"""Real people in references: each image and video reference converted once into a RunningHub asset
(the assets API), reused by later runs, and sent as ``asset://<id>`` in place of its URL.

Why the assets API rather than the ``realPersonMode`` / ``conversionSlots`` body fields: the facts
file has the assets API confirmed [C] for every 2.x URL field, the fields only on the global channel
[C] (sparkvideo [S]). One way that works on every model that takes real people is the safer one.

Whether an asset costs anything, and how long it lives, is unknown [U], so: a conversion is started
at most once per file content and site (its id is kept before any wait, so Cancel, a crash or a
restart resume it); a create whose answer was lost is looked for by name before another is made; a
cached asset is asked about before use and converted again only when RunningHub no longer has it.
Every conversion is settled before the submit, so a failed one costs no video.
"""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Callable, Sequence

from ..core.errors import (ApiError, AuthError, KeyTypeError, TaskFailedError, RateLimitError, RealPersonError,
                           RunningHubError, ServiceError)
from ..core.events import bar_position, check_cancel, one_at_a_time, sleep_interruptibly
from ..core.waits import current as current_waits
from ..ledger.asset_cache import CREATING, AssetCache
from ..remote import error_codes, facts, models
from ..remote.wire import Asset

if TYPE_CHECKING:
    from .pipeline import _Run

# What can show a person (audio is sent as uploaded), and how a message names each kind.
CONVERTED_KINDS = (models.IMAGE, models.VIDEO, models.FIRST_FRAME, models.LAST_FRAME)
_NAMES = {models.FIRST_FRAME: "start image", models.LAST_FRAME: "end image"}
# How RunningHub names a reference in its conversionSlots words [S]: image1…9, video1…3, the frame fields
_SLOTS = {"firstframeurl": models.FIRST_FRAME, "lastframeurl": models.LAST_FRAME}
OPTION_WORDS = "real_person (on the node) or --real-person (in the CLI)"


class ConversionFailedError(RunningHubError):
    """A reference could not be converted for real-person handling; nothing was submitted."""


def label(kind: str, ordinal: int) -> str:
    """How a message names a reference: "image 2", "video 1" (1-based, in input order), "start image"."""
    return _NAMES.get(kind) or f"{kind} {ordinal}"


def convert_all(run: _Run, references: Sequence, urls: dict[str, list[str]],
                reupload: Callable[[object], str]) -> dict[str, list[str]]:
    """``urls`` by kind with each image and video URL replaced by its asset reference. ``reupload``:
    a fresh URL for a reference whose upload RunningHub could not read (1013)."""
    cache = AssetCache()
    targets = [(ref, kind, i) for kind in CONVERTED_KINDS
               for i, ref in enumerate(r for r in references if r.kind == kind)]
    converted = {kind: list(items) for kind, items in urls.items()}
    for n, (ref, kind, i) in enumerate(targets, 1):
        check_cancel(run.should_cancel)

        def announce(n: int = n) -> None:  # said only while converting, not for an asset reused as it is
            run.say("convert", bar_position("upload", n / len(targets)), index=n, count=len(targets))

        asset = _converted(run, cache, ref, urls[kind][i], label(kind, i + 1), announce, reupload)
        converted[kind][i] = asset.reference
    return converted


def _converted(run: _Run, cache: AssetCache, ref, url: str, name: str, announce: Callable[[], None],
               reupload: Callable[[object], str]) -> Asset:
    with one_at_a_time(("asset", ref.sha256, run.settings.endpoint), run.should_cancel):  # one conversion per file
        return _converted_alone(run, cache, ref, url, name, announce, reupload)


def _converted_alone(run: _Run, cache: AssetCache, ref, url: str, name: str, announce: Callable[[], None],
                     reupload: Callable[[object], str]) -> Asset:
    endpoint = run.settings.endpoint
    entry = cache.get(ref.sha256, endpoint)
    asset = None
    if entry is not None and entry.asset_id:
        asset = _still_there(run, entry.asset_id)
    elif entry is not None and entry.state == CREATING:  # the create's answer was lost: find it by name
        asset = next((a for a in _listed(run) if a.name == entry.name and a.asset_id), None)
    if asset is None or asset.status != facts.ASSET_ACTIVE:
        announce()
    if asset is None:
        from ..media.thumbnail import reference_thumbnail

        asset_name = cache.begin(ref.sha256, endpoint, site=run.settings.site, kind=ref.kind,
                                 thumb=reference_thumbnail(ref))
        try:
            try:
                asset = run.client.create_asset(url, ref.kind, asset_name, run.should_cancel)
            except ApiError as exc:
                if exc.code not in error_codes.REUPLOAD_CODES:
                    raise
                # RunningHub could not read the cached upload (it lapsed): upload afresh, create once more
                asset = run.client.create_asset(reupload(ref), ref.kind, asset_name, run.should_cancel)
        except ApiError as exc:  # RunningHub answered: nothing was made
            cache.forget(ref.sha256, endpoint)
            raise _failed(name, str(exc), exc.code) from None
    cache.record(ref.sha256, endpoint, asset.asset_id, asset.status or "PROCESSING")
    return _until_active(run, cache, ref.sha256, asset, name)


def _still_there(run: _Run, asset_id: str) -> Asset | None:
    """The asset as RunningHub has it now, or None when it is gone (how long assets live is [U])."""
    try:
        asset = run.client.query_asset(asset_id, run.should_cancel)
    except (ServiceError, RateLimitError, AuthError, KeyTypeError):
        raise
    except ApiError:  # not found, invalid id: gone
        return None
    known = asset.status in (facts.ASSET_ACTIVE, facts.ASSET_FAILED) or asset.status in facts.ASSET_PENDING_STATES
    return asset if known and asset.asset_id == asset_id else None


def _listed(run: _Run) -> list[Asset]:
    try:
        return run.client.list_assets()
    except ApiError:
        return []


def _until_active(run: _Run, cache: AssetCache, sha256: str, asset: Asset, name: str) -> Asset:
    """Wait for ACTIVE (Cancel stops the wait within a second; the id stays in the cache)."""
    waits = current_waits()
    deadline = time.monotonic() + waits.asset_timeout_s
    pause = waits.asset_first_gap_s
    while asset.status != facts.ASSET_ACTIVE:
        if asset.status == facts.ASSET_FAILED:
            cache.forget(sha256, run.settings.endpoint)  # queuing again tries once more
            raise _failed(name, asset.reason or "RunningHub gave no reason", "")
        if time.monotonic() > deadline:
            raise ConversionFailedError(
                f"The conversion of {name} for real people is still {asset.status or 'processing'} after "
                f"{waits.asset_timeout_s / 60:g} minutes (asset {asset.asset_id}).",
                advice="Nothing was submitted. Queue again later: the same conversion is picked up, not started anew.",
                code="conversion_slow",
                details={"name": name, "minutes": f"{waits.asset_timeout_s / 60:g}", "asset_id": asset.asset_id})
        sleep_interruptibly(pause, run.should_cancel)
        pause = min(waits.asset_max_gap_s, pause * 2)
        asset = run.client.query_asset(asset.asset_id, run.should_cancel)
        cache.record(sha256, run.settings.endpoint, asset.asset_id, asset.status or "PROCESSING", asset.reason)
    return asset


def _failed(name: str, reason: str, code: str) -> ConversionFailedError:
    return ConversionFailedError(f"RunningHub could not convert {name} for real people: {reason.rstrip('.')}.",
                                 code=code, advice="Nothing was submitted or charged for a video. Use another "
                                                   "reference, or queue again to try the conversion once more.",
                                 details={"name": name, "reason": reason.rstrip(".")})


# --- 1505: a real person refused --------------------------------------------------------------
def named_references(text: str, sent: dict[str, list[str]]) -> tuple[str, ...]:
    """The references a 1505 answer names, in our words. How RunningHub names them is not documented
    [U]: the URLs or asset ids sent, and ``image2`` / ``video1`` (the conversionSlots words) are read."""
    found: dict[str, None] = {}
    for kind, items in sent.items():
        for i, item in enumerate(items):
            if item and item in text:
                found.setdefault(label(kind, i + 1), None)
    for kind, number in re.findall(r"\b(image|video)\s?#?([1-9])\b", text, flags=re.IGNORECASE):
        found.setdefault(label(kind.lower(), int(number)), None)
    for slot in re.findall(r"\b(firstFrameUrl|lastFrameUrl)\b", text, flags=re.IGNORECASE):
        found.setdefault(label(_SLOTS[slot.lower()], 1), None)
    return tuple(found)


def explain_refusal(exc: TaskFailedError, model: models.Model, *, converted: bool,
                    sent: dict[str, list[str]]) -> TaskFailedError:
    """The 1505 error with what RunningHub named, what the answer said of the charge, and the way out
    (never one that pays again for the same refusal)."""
    refs = named_references(f"{exc.server_message} {exc}", sent)
    named = f" RunningHub named {', '.join(refs)}." if refs else ""
    cost = getattr(exc, "cost", None)
    charge = (f" RunningHub reports {cost} charged for task {exc.task_id}." if cost
              else f" RunningHub reported no charge for task {exc.task_id}.")
    head = f"Task {exc.task_id} failed: a reference shows a photorealistic real person (1505).{named}{charge}"
    if model.real_person and not converted:
        return RealPersonError(head, code=exc.code, task_id=exc.task_id, server_message=exc.server_message,
                               references=refs, cost=cost,
                               advice=f"Turn on {OPTION_WORDS}: each image and video reference is then converted "
                                      "once into an asset on your RunningHub account and sent that way.")
    if model.real_person:
        advice = ("The references were already sent converted (real_person on) and RunningHub still refused them; "
                  "use other references.")
    else:
        able = ", ".join(m.label for m in models.MODELS.values() if m.real_person)
        advice = (f"{model.label} has no way to take real people: use {able} with {OPTION_WORDS}, "
                  "or other references.")
    error = TaskFailedError(head, code=exc.code, task_id=exc.task_id, server_message=exc.server_message,
                            advice=advice)
    error.cost = cost
    return error


# --- the RunningHub tab: converted references -----------------------------------------------------
def converted() -> list[dict]:
    """Every converted reference this machine knows (newest first), for the tab; no network."""
    return [{"site": e.site, "asset_id": e.asset_id, "state": e.state, "kind": e.kind, "reason": e.reason,
             "created_at": e.created_at, "updated_at": e.updated_at, "has_thumb": e.has_thumb}
            for e in AssetCache().entries()]


def converted_thumbnail(site: str, asset_id: str) -> bytes | None:
    cache = AssetCache()
    entry = next((e for e in cache.entries() if e.site == site and e.asset_id == asset_id), None)
    return None if entry is None else cache.thumb(entry.endpoint, asset_id)


def delete_converted(site: str, asset_id: str) -> dict:
    """Delete an asset on the site and forget it here (a later run with that file converts it again).
    An asset the site no longer has is simply forgotten."""
    from ..core.errors import ValidationError
    from ..remote.api import RunningHubClient
    from ..remote.config import load_settings

    settings = load_settings(site)
    cache = AssetCache()
    entry = cache.find(settings.endpoint, asset_id)
    if entry is None:
        raise ValidationError(f"Asset {asset_id!r} of .{site} is not among this machine's converted references "
                              f"on {settings.base_url}.")
    with RunningHubClient(settings) as client:
        try:
            client.delete_asset(asset_id)
        except (ServiceError, RateLimitError, AuthError, KeyTypeError):
            raise
        except ApiError:  # not found: already gone on the site
            pass
    cache.forget(entry.sha256, entry.endpoint)
    return {"deleted": True, "site": site, "asset_id": asset_id}
