"""Where the key, the site and the pack's state come from.

Order for the key of a site: ``RUNNINGHUB_API_KEY_AI`` (``ai`` only), ``RUNNINGHUB_API_KEY``,
then the config file in the state directory (written by ``login`` or the settings route; private
to the user where the OS has file modes).
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import facts
from ..core.redaction import mask_key, register_secret

APP_DIR_NAME = "runninghub-video"
CONFIG_FILE = "config.json"
# What a key may look like before it is stored (login, the settings route): RunningHub's are 32
# letters and digits; a little slack in case the format changes, nothing that could break a header.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_\-]{16,128}")

_comfy_user_dir: Path | None = None


# --- state directory -----------------------------------------------------------------------
def set_comfy_user_dir(path: str | os.PathLike) -> None:
    """Called by the ComfyUI bridge: where versions before the shared folder kept ComfyUI's state
    (its key, budget and journal are still read from there, see :func:`earlier_state_dir`)."""
    global _comfy_user_dir
    _comfy_user_dir = Path(path) / APP_DIR_NAME


def state_dir() -> Path:
    """The folder for journal, upload cache, budget and config (never inside the pack). Not created here.

    One per user, shared by ComfyUI and the command line on this machine (so one request pays once
    across them): ``RUNNINGHUB_STATE_DIR``, else :func:`user_config_dir`."""
    if os.environ.get("RUNNINGHUB_STATE_DIR"):
        return Path(os.environ["RUNNINGHUB_STATE_DIR"])
    return user_config_dir()


def earlier_state_dir() -> Path | None:
    """Where ComfyUI kept the pack's state before it moved to the user's folder (ComfyUI's
    ``user/runninghub-video``), or None outside ComfyUI, with ``RUNNINGHUB_STATE_DIR`` set (which
    ComfyUI used then too) or when it is the state folder itself."""
    if _comfy_user_dir is None or os.environ.get("RUNNINGHUB_STATE_DIR") or _comfy_user_dir == state_dir():
        return None
    return _comfy_user_dir


def user_config_dir() -> Path:
    """The platform's per-user folder for the pack: %APPDATA% (Windows), ~/Library/Application
    Support (macOS), $XDG_CONFIG_HOME or ~/.config (Linux and others).

    The config folder rather than XDG's state folder on Linux because it holds the key and the
    budget beside the journal, and because the command line has always kept its journal there:
    moving it would orphan those journals."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / APP_DIR_NAME


def config_path() -> Path:
    return state_dir() / CONFIG_FILE


def read_config_file(path: Path | None = None) -> dict:
    """The config file's content; {} when there is none. A damaged file is moved aside with a
    clear error (rather than silently reading as "no key")."""
    from ..core.store import DamagedFile, move_aside

    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        from ..core.errors import ConfigError

        raise ConfigError(f"The config file {path} cannot be read ({exc.strerror or exc}).",
                          advice="Fix its permissions.") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("keys", {}), dict):
            raise ValueError("not a JSON object with a 'keys' object")
    except ValueError as exc:
        moved = move_aside(path)
        raise DamagedFile(f"The config file {path} was damaged ({exc}); it was moved to {moved.name}.",
                          moved_to=moved, advice="Enter the key again (ComfyUI settings → RunningHub, or "
                          "`python -m runninghub_video login`).") from None
    return data


def check_key_shape(key: str) -> str:
    """The key, stripped, if it looks like a RunningHub key; else a ValidationError (nothing stored)."""
    from ..core.errors import ValidationError

    key = (key or "").strip()
    if not KEY_SHAPE.fullmatch(key):
        raise ValidationError(
            f"That does not look like a RunningHub API key (letters and digits, {facts.KEY_LENGTH} characters "
            "for an Enterprise-Shared key). Copy it again from the API console; nothing was stored.",
            code="key_shape")
    return key


def _stored_key(site: str) -> str:
    """The key in the config file; inside ComfyUI, a key saved in its user folder by an earlier
    version counts too."""
    earlier = earlier_state_dir()
    paths = [config_path()] + ([earlier / CONFIG_FILE] if earlier is not None else [])
    return next((str(key) for path in paths if (key := read_config_file(path).get("keys", {}).get(site))), "")


def write_key(site: str, key: str | None) -> Path:
    """Store (or with ``None`` remove) the key of a site in the config file (0600 where modes apply)."""
    from ..core.errors import ConfigError

    from ..core.files import write_atomically
    from ..core.store import ensure_private_dir

    check_site(site)
    key = check_key_shape(key) if (key or "").strip() else ""
    data = read_config_file()
    keys = data.setdefault("keys", {})
    if key:
        keys[site] = key
        register_secret(key)
    else:
        keys.pop(site, None)
    path = config_path()
    ensure_private_dir(path.parent)
    try:
        write_atomically(path, lambda f: f.write(json.dumps(data, indent=2).encode("utf-8")), private=True)
    except OSError as exc:
        raise ConfigError(f"Could not write the config file {path}: {exc.strerror or exc}.") from None
    return path


# --- settings ------------------------------------------------------------------------------
def check_site(site: str) -> str:
    from ..core.errors import ConfigError

    if site not in facts.SITES:
        raise ConfigError(f"Unknown site {site!r}: use one of {', '.join(facts.SITES)}.")
    return site


def key_and_source(site: str) -> tuple[str, str]:
    """The key for ``site`` and where it came from ("environment" or "settings"), or ("", "")."""
    candidates = [("environment", os.environ.get("RUNNINGHUB_API_KEY_AI", ""))] if site == "ai" else []
    candidates.append(("environment", os.environ.get("RUNNINGHUB_API_KEY", "")))
    candidates.append(("settings", _stored_key(site)))
    for source, key in candidates:
        if key.strip():
            register_secret(key.strip())
            return key.strip(), source
    return "", ""


def find_key(site: str) -> str:
    """The key for ``site`` or "" (no error: callers decide whether a key is needed)."""
    return key_and_source(site)[0]


@dataclass(frozen=True)
class Settings:
    api_key: str
    site: str
    base_url: str  # site root, no trailing slash

    def __post_init__(self) -> None:
        register_secret(self.api_key)  # however the settings were made, their key is masked in every text

    def __repr__(self) -> str:  # never print the key
        return f"Settings(site={self.site!r}, base_url={self.base_url!r}, api_key={mask_key(self.api_key)!r})"

    @property
    def endpoint(self) -> str:
        """Which RunningHub this is (site and address): upload URLs are only valid there."""
        return f"{self.site}|{self.base_url}"

    @property
    def currency(self) -> str:
        """What the site charges in (facts.SITE_CURRENCY)."""
        return facts.SITE_CURRENCY[self.site]


def missing_key_message(site: str) -> str:
    env = "RUNNINGHUB_API_KEY_AI (or RUNNINGHUB_API_KEY)" if site == "ai" else "RUNNINGHUB_API_KEY"
    message = (f"No RunningHub API key for the .{site} site. Create an Enterprise-Shared key at "
               f"{facts.KEY_PAGES[site]}, then set {env}, run `python -m runninghub_video login "
               f"--site {site}`, or enter it in ComfyUI's settings (RunningHub).")
    if site != "ai" and os.environ.get("RUNNINGHUB_API_KEY_AI", "").strip():
        message += (" RUNNINGHUB_API_KEY_AI is set: it is a key for runninghub.ai; add --site ai (or set "
                    "RUNNINGHUB_SITE=ai) to use it.")
    return message


def load_settings(site: str | None = None, *, require_key: bool = True) -> Settings:
    """Settings for ``site`` (default ``RUNNINGHUB_SITE`` or cn); ``RUNNINGHUB_BASE_URL`` wins."""
    from ..core.errors import ConfigError

    site = check_site((site or os.environ.get("RUNNINGHUB_SITE") or facts.DEFAULT_SITE).strip().lower())
    base_url = (os.environ.get("RUNNINGHUB_BASE_URL") or facts.SITES[site]).rstrip("/")
    key = find_key(site)
    if require_key and not key:
        raise ConfigError(missing_key_message(site))
    return Settings(api_key=key, site=site, base_url=base_url)
