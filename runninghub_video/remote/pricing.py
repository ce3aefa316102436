"""The price of one request, before anything is uploaded: the one function the node caption, the
CLI's "≈" line, the budget and the tab's estimates use (:func:`quote`).

RunningHub's price preview for the very body the run will send (with stand-in URLs for its
references, in the same number and fields) where it answers, else the model table's rule
(``VideoRequest.table_price``): an exact amount, or a range where the real price cannot be known
before the run (a price in tokens, a duration the model chooses) — a budget counts its top.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from . import facts, models
from ..core.errors import RunningHubError
from ..core.money import Money, Price
from .models import IMAGE
from .request import PREVIEW_PROMPT, VideoRequest
from .wire import PricePreview

PREVIEW, TABLE, NONE = "preview", "table", "none"


@dataclass(frozen=True)
class Quote:
    price: Price | None  # None: unknown (no preview, no published table for the site)
    source: str  # PREVIEW, TABLE or NONE
    text: str = ""  # the preview's own words ("0.35 元"), when it answered


def quote(client, request: VideoRequest) -> Quote:
    """The price of a validated request on the client's site: the preview's, else the table's.
    An error of the preview (including a refused key) is the caller's to find out elsewhere:
    here it only means the table is used."""
    table = request.table_price(client.settings.site)
    try:
        preview = preview_price(client, request)
    except RunningHubError:
        preview = None
    if preview is not None and preview.price is not None and preview.price.currency == facts.SITE_CURRENCY[
            client.settings.site]:  # a price in another currency than the site's is not this run's
        return Quote(Price.exact(preview.price), PREVIEW, preview.price_text)
    return Quote(table, TABLE) if table is not None else Quote(None, NONE)


def preview_price(client, request: VideoRequest) -> PricePreview:
    """RunningHub's price preview for a validated request's model, mode and options (its price may
    be None). Raises the preview's error (a refused key among them). Uploads nothing."""
    preview = dataclasses.replace(request, prompt=PREVIEW_PROMPT, last_frame=False)
    stand_in = _stand_in_reference(client.settings.base_url)
    endpoint = request.endpoint
    counts = {rule.kind: max(rule.min_count, request.count(rule.kind)) for rule in endpoint.media}
    if request.references is None and endpoint.min_visual_references and endpoint.rule(IMAGE):
        counts[IMAGE] = max(counts[IMAGE], endpoint.min_visual_references)  # references not known yet: an image
    urls = {kind: [stand_in] * count for kind, count in counts.items()}
    return client.price_preview(preview.body(urls), path=endpoint.price_preview_path)


def _stand_in_reference(base_url: str) -> str:
    """The reference URL sent with a price preview, which takes a whole submit body.

    A price depends on the options and on which kinds of reference are sent, and the model's URL
    fields accept any https URL [S], so an address on the site itself stands in for each reference:
    nothing is put into the user's RunningHub storage to learn a price. Whether the real preview
    fetches or checks that URL is unknown [U]; if it refuses it, every caller falls back to the
    model table (and the budget then counts the table's top)."""
    return f"https://{urlsplit(base_url).netloc}/favicon.ico"


def stored_price(site: str, stored: Mapping[str, Any]) -> Price | None:
    """The model table's price of a journaled request (``Row.request``: wire options, "model" and
    the reference hashes, a video's marked ``video:``), for the running tasks a budget counts;
    None when the row says too little (or the site has no table)."""
    model = models.MODELS.get(str(stored.get("model") or ""), models.V1_LITE)  # rows before 2.0: v1-lite
    duration = str(stored.get("duration", ""))
    duration = models.AUTO if duration == "-1" else duration
    if duration not in model.choices("duration"):
        return None
    sound = str(stored.get("generateAudio", "")).lower() == "true"  # a JSON true or 1.5 Pro's "true"
    videos = sum(1 for h in stored.get("imageHashes") or () if str(h).startswith(f"{models.VIDEO}:"))
    found = model.price_range(site, str(stored.get("resolution", "")), duration, sound=sound, videos=videos)
    if found is None:
        return None
    currency = facts.SITE_CURRENCY[site]
    return Price(Money(found[0], currency), Money(found[1], currency))
