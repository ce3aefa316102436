"""Every RunningHub fact the pack relies on, in one place.

Sources and confidence are in ``docs/runninghub-api.md``; entries marked [U] there are
handled defensively by the code that reads these values.
"""
from __future__ import annotations

from .models import IMAGE_UPLOAD_BYTES

# --- sites and endpoints -------------------------------------------------------------------
SITES: dict[str, str] = {
    "cn": "https://www.runninghub.cn",
    "ai": "https://www.runninghub.ai",
}
DEFAULT_SITE = "cn"
SITE_CURRENCY = {"cn": "CNY", "ai": "USD"}
# Where a user creates an Enterprise-Shared key (the API console of each site).
KEY_PAGES = {
    "cn": "https://www.runninghub.cn (log in → API 控制台 / API console → create an Enterprise-Shared key)",
    "ai": "https://www.runninghub.ai (log in → API console → create an Enterprise-Shared key)",
}
KEY_LENGTH = 32
# Where a person finds one task on the site: its call record [S]. The list of call records has no
# documented address [U]: without a task id the user is sent to the site and told where to look.
CALL_RECORD_DETAIL_PATH = "/call-api/call-record-detail/"

UPLOAD_PATH = "/openapi/v2/media/upload/binary"
QUERY_PATH = "/openapi/v2/query"
QUEUE_STATUS_PATH = "/openapi/v2/queue/status"
ACCOUNT_STATUS_PATH = "/uc/openapi/accountStatus"
# Each model's submit and price-preview paths, fields, enums, limits and prices: models.py.

# --- real people in references: the assets API ([C]; works on every 2.x URL field) ----------------
# A reference showing a photorealistic person is refused (1505) unless it is first made an asset:
# create it from an uploaded URL, wait for ACTIVE, then send "asset://<assetId>" in place of the URL.
# The 2.x body fields realPersonMode / conversionSlots are [C] only on the global channel ([S] on
# sparkvideo), so the pack uses the assets API everywhere. Whether assets cost anything, and how long
# they live, is unknown [U]: a cached asset is queried before each use and converted again when gone.
ASSET_CREATE_PATH = "/openapi/v2/assets/create"
ASSET_QUERY_PATH = "/openapi/v2/assets/query"
ASSET_LIST_PATH = "/openapi/v2/assets/list"
ASSET_DELETE_PATH = "/openapi/v2/assets/delete"
ASSET_SCHEME = "asset://"
# The official pack uses one fixed groupId; its form is not documented [U]. Ours names the pack.
ASSET_GROUP_ID = "comfyui-runninghub-seedance"
ASSET_TYPES = {"image": "Image", "first_frame": "Image", "last_frame": "Image", "video": "Video",
               "audio": "Audio"}  # our reference kinds -> assetType
ASSET_ACTIVE, ASSET_FAILED = "ACTIVE", "FAILED"
ASSET_PENDING_STATES = frozenset({"PROCESSING", "PENDING", "CREATE", "CREATING", "QUEUED"})  # [U] beyond PROCESSING

# --- reference limits common to every model -----------------------------------------------
MAX_UPLOAD_BYTES = IMAGE_UPLOAD_BYTES  # images are fitted under this (see models.py)
# Reference image sides, in pixels. RunningHub documents none [U]; ByteDance documents 300–6000 px
# sides for Seedance references on its own API, so we stay inside that. Our choices:
MIN_SIDE = 14  # smaller images carry no usable reference: refused with advice
UPSCALE_TO_SIDE = 300  # a shorter side is upscaled (bicubic) to this, as far as MAX_SIDE allows
MAX_SIDE = 6000  # a longer side is downscaled to this

# Output geometry. 720p 16:9 = 1248x704 is observed [S]; the others are derived the same way
# (area of the 16:9 frame at that resolution, sides rounded to multiples of 16) and only the
# emulator uses them — the client never assumes a size, it reads the real file.
OUTPUT_FPS = 24
# 2.0's larger sizes [U] are capped at 1080p's area: the emulator paints test pictures, and a 4k
# clip would only make it slow.
_AREA = {"720p": 1248 * 704, "480p": 864 * 480, "1080p": 1920 * 1088}


def output_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Width, height of a result video for the given options (see note above)."""
    if resolution == "720p" and aspect_ratio == "16:9":
        return 1248, 704
    if resolution == "480p" and aspect_ratio == "16:9":
        return 864, 480
    w_ratio, h_ratio = (int(x) for x in ("16:9" if aspect_ratio == "adaptive" else aspect_ratio).split(":"))
    height = (_AREA.get(resolution, _AREA["1080p"]) * h_ratio / w_ratio) ** 0.5
    width = height * w_ratio / h_ratio
    return max(16, round(width / 16) * 16), max(16, round(height / 16) * 16)


# --- lifetimes -----------------------------------------------------------------------------
UPLOAD_URL_LIFETIME_S = 24 * 3600  # "about 1 day"
RESULT_URL_LIFETIME_S = 24 * 3600
# Our policy, not a RunningHub fact: reuse an uploaded URL only this long, well inside its ~1 day
# life, so a run that starts from a cached URL still has hours before RunningHub fetches it.
UPLOAD_CACHE_TTL_S = 20 * 3600

# --- task states ---------------------------------------------------------------------------
PENDING_STATES = frozenset({"CREATE", "QUEUED", "RUNNING"})
QUEUED_STATES = frozenset({"CREATE", "QUEUED"})
SUCCESS_STATE = "SUCCESS"
TERMINAL_FAILURE_STATES = frozenset({"FAILED", "CANCEL"})

# --- prices: each model's rule is in models.py, a request's price is VideoRequest.table_price ---

# --- polling defaults (the official clients poll every 5 s for up to 1800 s) ---------------
DEFAULT_TIMEOUT_S = 30 * 60
TYPICAL_QUEUE_S = 20.0  # our prior only: "queueing can double" a run [S]; the journal replaces it


# --- error codes: their meaning, words, and what a submit answer with one proves: error_codes.py ---
# --- task ids and the site's call records ----------------------------------------------------
# Task ids are a run of digits: 19 today [C], the length is not documented [U], so 6-32 ASCII
# digits are accepted — from a user (a typo never reaches the API) and in a submit answer (an id
# such as "../../etc/x" or 10,000 digits proves no task and is never queried or written to disk).
TASK_ID_PATTERN = r"[0-9]{6,32}"
# An id a person types or pastes (fetch, status, the RunningHub tab) must have the 19 digits of every
# id seen [C]: a digit lost or doubled in copying is said before any call (RunningHub would answer
# 1007 or 1004, whose words point elsewhere). Should RunningHub ever issue ids of another length [U],
# its submit answers are still taken (TASK_ID_PATTERN) and their requests resumed by the journal;
# only typing such an id in would need this changed.
TASK_ID_DIGITS = 19


def call_records_hint(base_url: str) -> str:
    """Where a person finds a task whose id never reached the pack (the list has no documented address [U])."""
    return (f"Find it in the call records of your API console on {base_url.rstrip('/')} (log in → API console "
            f"→ call records); each record opens at {base_url.rstrip('/')}{CALL_RECORD_DETAIL_PATH}<taskId>.")
