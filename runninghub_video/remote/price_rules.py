"""How each model of the table is priced, as data with one method: the lowest and highest amount
one run can cost in a site's currency.

Three rules are published (docs/runninghub-api.md, "Seedance" sections; rates [S]):
per output second by resolution (doubled with sound on 1.5 Pro); the 2.0 family's rule for runs
with a reference video (billed seconds = ceil(5/3 x duration) at a floor rate, plus a surcharge
per output second at 1080p and above); tokens for 2.5, whose counting is not published [U], so
they give a range with its assumption stated below. A duration the model chooses ("auto") is a
range over its allowed durations. RunningHub's price preview, where it answers, is the truth;
these rules are what the pack shows when it does not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence

Rates = Mapping[str, float]  # resolution -> CNY (or the site's currency) per output second


@dataclass(frozen=True)
class Run:
    """What a price depends on: one request's resolution, duration (None: the model chooses one of
    ``durations``), whether it has sound, how many reference videos it sends, and its mode."""
    resolution: str
    seconds: int | None
    durations: Sequence[int]
    sound: bool = False
    videos: int = 0
    multimodal: bool = True  # the reference mode; the reference-video rule applies only there


def _d(value: float) -> Decimal:
    return Decimal(str(value))


def _span(run: Run) -> tuple[int, int]:
    if run.seconds is not None:
        return run.seconds, run.seconds
    return min(run.durations), max(run.durations)


@dataclass(frozen=True)
class PerSecond:
    """Rate x seconds, by site and resolution; ``with_sound`` multiplies it when the video has
    sound (1.5 Pro: doubled); ``with_videos``: the rule that replaces it when reference videos are sent."""
    rates: Mapping[str, Rates]  # site -> resolution -> per second; .ai (USD) is unknown [U]
    with_sound: float = 1.0
    with_videos: ReferenceVideos | None = None

    def range(self, site: str, run: Run) -> tuple[Decimal, Decimal] | None:
        if self.with_videos is not None and run.videos and run.multimodal:
            return self.with_videos.range(site, run)
        rate = self.rates.get(site, {}).get(run.resolution)
        if rate is None:
            return None
        per_second = _d(rate) * (_d(self.with_sound) if run.sound else 1)
        low, high = _span(run)
        return per_second * low, per_second * high


@dataclass(frozen=True)
class ReferenceVideos:
    """A 2.0-family multimodal run with >= 1 reference video [S rates, C shape]: ceil(5/3 x seconds)
    billed seconds at ``floor_480p`` (480p) or ``floor_720p`` (720p and above), plus ``surcharge`` per
    output second at the larger resolutions. 2.0, 720p, 5 s, one video: 9 x 0.8 = 7.20 CNY."""
    floor_480p: float
    floor_720p: float
    site: str = "cn"  # the only site whose rates are published
    surcharge: Rates = field(default_factory=lambda: {"1080p": 0.28, "native1080p": 0.28, "2k": 0.42, "4k": 0.63})

    def amount(self, resolution: str, seconds: int) -> Decimal:
        floor = self.floor_480p if resolution == "480p" else self.floor_720p
        billed = math.ceil(Decimal(5) * seconds / 3)
        return _d(floor) * billed + _d(self.surcharge.get(resolution, 0.0)) * seconds

    def range(self, site: str, run: Run) -> tuple[Decimal, Decimal] | None:
        if site != self.site:
            return None
        low, high = _span(run)
        return self.amount(run.resolution, low), self.amount(run.resolution, high)


# Output frame sizes the token rule counts [U]: the usual 16:9 frame of each resolution.
PIXELS = {"480p": 854 * 480, "720p": 1280 * 720, "1080p": 1920 * 1080, "2k": 2560 * 1440, "4k": 3840 * 2160}
TOKEN_FPS = 24


@dataclass(frozen=True)
class Tokens:
    """2.5: ``per_million`` tokens plus ``surcharge`` per output second at 1080p and above [S].

    How RunningHub counts the tokens is not published [U]. Assumed, and shown as a range: at least
    the output's own tokens, width x height x 24 fps x seconds / 1024 (ByteDance's rule for its
    video models); at most twice that, for the references a run may also be billed for."""
    per_million: float
    surcharge: Rates
    site: str = "cn"
    references_factor: int = 2

    def tokens(self, resolution: str, seconds: int) -> int:
        return PIXELS.get(resolution, PIXELS["1080p"]) * TOKEN_FPS * seconds // 1024

    def amount(self, resolution: str, seconds: int, factor: int = 1) -> Decimal:
        tokens = Decimal(self.tokens(resolution, seconds) * factor)
        amount = tokens * _d(self.per_million) / 1_000_000 + _d(self.surcharge.get(resolution, 0.0)) * seconds
        return amount.quantize(Decimal("0.01"), ROUND_HALF_UP)  # a charge is in cents

    def range(self, site: str, run: Run) -> tuple[Decimal, Decimal] | None:
        if site != self.site:
            return None
        low, high = _span(run)
        return self.amount(run.resolution, low), self.amount(run.resolution, high, self.references_factor)


PriceRule = PerSecond | Tokens
