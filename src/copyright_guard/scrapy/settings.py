"""The ``COPYRIGHT_GUARD_*`` Scrapy settings, read and validated once at start-up.

A bad value is a :class:`SettingsError` whose message names the setting, what was given and what
is expected. It is deliberately *not* ``NotConfigured``: Scrapy answers ``NotConfigured`` by
quietly dropping the component, which would turn a typo into a crawl with no copyright checks.
``NotConfigured`` is raised only for ``COPYRIGHT_GUARD_ENABLED = False`` (an explicit choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from ..core.identity import placeholder_problem
from ..core.model import PURPOSES
from ..core.policy import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from ..webbotauth import RequestSigner

# The documented settings and their defaults (docs/scrapy.md "Settings" lists each one).
DEFAULTS: dict[str, object] = {
    "COPYRIGHT_GUARD_ENABLED": True,
    "COPYRIGHT_GUARD_POLICY": None,  # None: the bundled strict default (policies/default.toml)
    "COPYRIGHT_GUARD_DB": None,  # None: $COPYRIGHT_GUARD_DB or sqlite:///copyright-guard.db
    "COPYRIGHT_GUARD_PURPOSE": None,  # None: the policy's [purposes] default
    "COPYRIGHT_GUARD_SITE_FILE_PRIORITY": 1000,  # like Scrapy's robots.txt requests
    "COPYRIGHT_GUARD_ITEM_FIELD": "copyright_guard_decision_id",
    "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 60.0,  # seconds between progress log lines; 0 = off
    "COPYRIGHT_GUARD_GC_FREEZE": True,  # gc.freeze() the start-up objects while guarded spiders run (gcfreeze.py)
    "COPYRIGHT_GUARD_LOG_DENIALS": True,  # one INFO line per denied URL (URL, stage, reason codes)
    # Signed checkpoints (docs/audit-integrity.md); None: the policy's [audit] value.
    "COPYRIGHT_GUARD_LOG_KEY": None,  # the signer key file; None and no policy log_key: the default place
    "COPYRIGHT_GUARD_CHECKPOINT_EVERY": None,  # decisions between checkpoints
    "COPYRIGHT_GUARD_CHECKPOINT_SECONDS": None,  # seconds between checkpoints
    # One crawl on many workers (docs/distributed.md): the Redis server holding the crawl-wide
    # site-file store and politeness, and the crawl's name (every worker's run records it).
    "COPYRIGHT_GUARD_REDIS_URL": None,  # None: this process only (no shared state)
    "COPYRIGHT_GUARD_CRAWL_NAME": None,  # None: the spider's name
}

# Scrapy's own robots.txt middleware, which ours replaces (peers.md: it fails open on 5xx/errors).
SCRAPY_ROBOTSTXT = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"


class SettingsError(ValueError):
    """A ``COPYRIGHT_GUARD_*`` (or conflicting Scrapy) setting is wrong. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class GuardSettings:
    policy: Policy
    db_url: str | None
    purpose: str
    site_file_priority: int
    item_field: str
    progress_interval: float
    gc_freeze: bool
    signer: RequestSigner | None = None  # Web Bot Auth, when the policy names a signing key
    log_denials: bool = True
    log_key: str | None = None  # the checkpoint signer's key file; None: the default place (store/keys.py)
    checkpoint_every: int = 10_000
    checkpoint_seconds: float = 60.0
    redis_url: str | None = None  # one crawl on many workers (docs/distributed.md)
    crawl_name: str | None = None


def request_signer(policy: Policy, settings: BaseSettings | None = None) -> RequestSigner | None:
    """The policy's Web Bot Auth signer, or ``None`` without ``[crawler] signing_key``."""
    if policy.crawler.signing_key is None:
        return None  # the signing code (cryptography, RFC 9421) is imported only when a key is named
    from ..webbotauth import SigningKeyError, signer_for_policy

    per_slot = settings.getint("CONCURRENT_REQUESTS", 16) if settings is not None else 16
    try:
        return signer_for_policy(policy, requests_per_slot=max(per_slot, 1))
    except SigningKeyError as exc:
        raise SettingsError(f"COPYRIGHT_GUARD_POLICY: {exc}") from None


def _bool(settings: BaseSettings, name: str) -> bool:
    try:
        return settings.getbool(name, DEFAULTS[name])
    except ValueError:
        raise SettingsError(f"{name}: expected True or False, got {settings.get(name)!r}") from None


def _number(settings: BaseSettings, name: str, kind: type, minimum: float) -> float:
    raw = settings.get(name, DEFAULTS[name])
    if isinstance(raw, bool):
        raise SettingsError(f"{name}: expected a number, got {raw!r}")
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}, got {raw!r}")
    return value


def _optional_text(settings: BaseSettings, name: str) -> str | None:
    raw = settings.get(name, DEFAULTS[name])
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raw = str(raw) if hasattr(raw, "__fspath__") else raw
    if not isinstance(raw, str):
        raise SettingsError(f"{name}: expected a string, got {raw!r}")
    return raw


def read_settings(settings: BaseSettings) -> GuardSettings:
    """Validate every ``COPYRIGHT_GUARD_*`` setting. Raises NotConfigured only when disabled."""
    if not _bool(settings, "COPYRIGHT_GUARD_ENABLED"):
        raise NotConfigured("COPYRIGHT_GUARD_ENABLED is False: copyright-guard is off for this crawl")
    policy_path = _optional_text(settings, "COPYRIGHT_GUARD_POLICY")  # a bundled name or a file
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise SettingsError(f"COPYRIGHT_GUARD_POLICY: {exc}") from None
    problem = placeholder_problem(policy)
    if problem:  # every operator would crawl as the same bot with a contact nobody reads
        raise SettingsError(f"COPYRIGHT_GUARD_POLICY: {problem}")
    purpose = _optional_text(settings, "COPYRIGHT_GUARD_PURPOSE") or policy.purposes.default
    if purpose not in PURPOSES:
        raise SettingsError(
            f"COPYRIGHT_GUARD_PURPOSE: {purpose!r} is not a purpose (expected one of {', '.join(PURPOSES)})"
        )
    item_field = _optional_text(settings, "COPYRIGHT_GUARD_ITEM_FIELD")
    if item_field is not None and not item_field.isidentifier():
        raise SettingsError(f"COPYRIGHT_GUARD_ITEM_FIELD: {item_field!r} is not a valid field name")
    return GuardSettings(
        policy=policy,
        db_url=_optional_text(settings, "COPYRIGHT_GUARD_DB"),
        purpose=purpose,
        site_file_priority=int(_number(settings, "COPYRIGHT_GUARD_SITE_FILE_PRIORITY", int, -(10**9))),
        item_field=item_field or "",
        progress_interval=_number(settings, "COPYRIGHT_GUARD_PROGRESS_INTERVAL", float, 0.0),
        gc_freeze=_bool(settings, "COPYRIGHT_GUARD_GC_FREEZE"),
        signer=request_signer(policy, settings),
        log_denials=_bool(settings, "COPYRIGHT_GUARD_LOG_DENIALS"),
        log_key=_optional_text(settings, "COPYRIGHT_GUARD_LOG_KEY") or policy.audit.log_key or None,
        checkpoint_every=(int(_number(settings, "COPYRIGHT_GUARD_CHECKPOINT_EVERY", int, 1))
                          if settings.get("COPYRIGHT_GUARD_CHECKPOINT_EVERY") is not None else policy.audit.checkpoint_every),
        checkpoint_seconds=(_number(settings, "COPYRIGHT_GUARD_CHECKPOINT_SECONDS", float, 0.001)
                            if settings.get("COPYRIGHT_GUARD_CHECKPOINT_SECONDS") is not None
                            else policy.audit.checkpoint_seconds),
        redis_url=_redis_url(settings),
        crawl_name=_crawl_name(settings),
    )


def _redis_url(settings: BaseSettings) -> str | None:
    url = _optional_text(settings, "COPYRIGHT_GUARD_REDIS_URL")
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"COPYRIGHT_GUARD_REDIS_URL: expected redis://HOST:PORT/DB, got {url!r}")
    return url


def _crawl_name(settings: BaseSettings) -> str | None:
    import re

    name = _optional_text(settings, "COPYRIGHT_GUARD_CRAWL_NAME")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise SettingsError(f"COPYRIGHT_GUARD_CRAWL_NAME: {name[:120]!r} is not a crawl name "
                            "(letters, digits, '.', '_' and '-', at most 100)")
    return name


def check_user_agent(user_agent: object, policy: Policy, where: str) -> None:
    """The token robots.txt groups are matched against must be the one on the wire (peers.md:
    Scrapy's ROBOTSTXT_USER_AGENT let a GPTBot block be bypassed). Raises SettingsError."""
    text = user_agent.decode("latin-1") if isinstance(user_agent, bytes) else str(user_agent or "")
    token = policy.crawler.product_token
    if token.lower() not in text.lower():
        raise SettingsError(
            f"{where}: User-Agent {text!r} does not contain the policy's product token {token!r} "
            f"(remove it to use the policy's [crawler] user_agent, or include {token!r})"
        )


# -- Scrapy settings from the command line (`copyright-guard crawl --set NAME=VALUE`) ---------------
#
# The one place those values are checked. Scrapy itself reads a bad one deep inside the crawl (a
# traceback, "not started"), and an ADDONS value simply replaced the add-on, turning every check
# off. So, before anything starts: a name must be a Scrapy or copyright-guard setting (a typo is
# never silently ignored), a value is coerced to the type of Scrapy's default and checked, and the
# add-on and its components cannot be dropped or disabled (see guard_component_dicts).

ADDON_PATH = "copyright_guard.scrapy.Addon"
# What the add-on installs, per component setting. A --set value naming one of them with null
# (Scrapy's "disabled") is refused; a dict that leaves them out is merged with them (add-ons and
# middlewares given on the command line are added to ours, never instead of them).
GUARD_COMPONENTS: dict[str, tuple[str, ...]] = {
    "ADDONS": (ADDON_PATH,),
    "DOWNLOADER_MIDDLEWARES": ("copyright_guard.scrapy.middleware.CopyrightGuardMiddleware",
                               "copyright_guard.scrapy.middleware.IdentityGuardMiddleware"),
    "SPIDER_MIDDLEWARES": ("copyright_guard.scrapy.provenance.ProvenanceMiddleware",),
    "EXTENSIONS": ("copyright_guard.scrapy.extension.AuditExtension",),
}
# Scrapy's component-priority dicts ({import path: order or null}); the *_BASE variants are
# Scrapy's own defaults, merged under these.
PRIORITY_DICTS = {name for base in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES",
                                    "SPIDER_CONTRACTS") for name in (base, f"{base}_BASE")} | {"ADDONS"}
# Settings Scrapy reads that its default_settings module does not define.
EXTRA_SCRAPY_SETTINGS: dict[str, object] = {"CONCURRENT_REQUESTS_PER_IP": 0}
# Numeric settings with a floor other than 0 (most numbers are counts, sizes or seconds: >= 0).
# A zero concurrency never downloads anything (the crawl would wait forever); a zero timeout fails
# every request.
_NUMBER_FLOORS: dict[str, tuple[float, bool]] = {  # name -> (minimum, minimum allowed?)
    "CONCURRENT_REQUESTS": (1, True), "CONCURRENT_REQUESTS_PER_DOMAIN": (1, True), "CONCURRENT_ITEMS": (1, True),
    "REACTOR_THREADPOOL_MAXSIZE": (1, True), "DOWNLOAD_TIMEOUT": (0, False), "DNS_TIMEOUT": (0, False),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": (0, False),
}
# Larger numbers are no setting anyone means, and overflow Twisted's timers and C integers.
_MAX_INT = 2**53
_MAX_FLOAT = 1e9
_TIME_WORDS = ("DELAY", "TIMEOUT", "_SECS", "SECONDS", "INTERVAL")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def _scrapy_defaults() -> dict[str, object]:
    from scrapy.settings import default_settings

    names = {name: getattr(default_settings, name) for name in dir(default_settings) if name.isupper()}
    return {**names, **EXTRA_SCRAPY_SETTINGS}


def _same_component(key: object, path: str) -> bool:
    """Does a component dict key (an import path or the class itself) name the component at ``path``?"""
    from scrapy.utils.misc import load_object

    if key == path:
        return True
    try:
        return load_object(key) is load_object(path)
    except (ImportError, NameError, ValueError, AttributeError, TypeError):
        return False


def _loadable(name: str, path: object) -> None:
    from scrapy.utils.misc import load_object

    if not isinstance(path, str):
        return  # a class object (from Python callers): Scrapy uses it as it is
    try:
        load_object(path)
    except (ImportError, NameError, ValueError, AttributeError, TypeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(f"{name}: cannot load {path!r} ({detail[:200]})") from None


def _json(name: str, raw: object, kind: type, example: str) -> object:
    import json

    if isinstance(raw, kind):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, kind):
            return value
    what = "a JSON object" if kind is dict else "a JSON list"
    raise SettingsError(f"{name}: expected {what}, e.g. {example}, got {raw!r}"[:500])


def _priority_dict(name: str, raw: object) -> dict:
    value = _json(name, raw, dict, '{"myproject.Component": 500}')
    for key, order in value.items():
        _loadable(name, key)
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            raise SettingsError(f"{name}: the order of {key!r} must be an integer or null, got {order!r}")
        if order is None and any(_same_component(key, ours) for ours in GUARD_COMPONENTS.get(name, ())):
            raise SettingsError(f"{name}: {key!r} is part of copyright-guard and cannot be disabled "
                                "(crawl without it by running Scrapy directly, not copyright-guard crawl)")
    return value


def _given_number(name: str, raw: object, kind: type) -> int | float:
    import math

    if isinstance(raw, bool):
        raw = int(raw)
    try:
        value = kind(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name}: expected {what}, got {raw!r}"[:300]) from None
    if kind is float and not math.isfinite(value):
        raise SettingsError(f"{name}: expected a finite number, got {raw!r}")
    if "PRIORITY" not in name:  # priorities and their adjustments may be negative
        minimum, inclusive = _NUMBER_FLOORS.get(name, (0, True))
        if value < minimum or (value == minimum and not inclusive):
            bound = f"at least {minimum}" if inclusive else f"more than {minimum}"
            raise SettingsError(f"{name}: must be {bound}, got {raw!r}")
    if abs(value) > (_MAX_INT if kind is int else _MAX_FLOAT):
        raise SettingsError(f"{name}: {raw!r} is out of range (at most {_MAX_INT if kind is int else _MAX_FLOAT:g})")
    return value


def _boolean(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    if text in {"1", "True", "true"}:
        return True
    if text in {"0", "False", "false"}:
        return False
    raise SettingsError(f"{name}: expected True or False, got {raw!r}"[:300])


def _coerce(name: str, raw: object, default: object) -> object:
    """``raw`` (a --set string, or a Python value) as the type of Scrapy's default for ``name``."""
    if name.endswith("_ENABLED") or isinstance(default, bool) or name == "ROBOTSTXT_OBEY":
        return _boolean(name, raw)
    if isinstance(default, (int, float)):
        # Scrapy reads times with getfloat() even where the default is written as an int (DOWNLOAD_DELAY = 0).
        kind = float if isinstance(default, float) or any(word in name for word in _TIME_WORDS) else int
        return _given_number(name, raw, kind)
    if name in PRIORITY_DICTS:
        return _priority_dict(name, raw)
    if isinstance(default, dict):
        return _json(name, raw, dict, '{"key": "value"}')
    if isinstance(default, list):
        # Scrapy's getlist() splits a string at commas; elements of a numeric list are numbers.
        items = [part.strip() for part in raw.split(",") if part.strip()] if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise SettingsError(f"{name}: expected a comma-separated list, got {raw!r}"[:300])
        if default and all(isinstance(item, int) for item in default):
            items = [_given_number(name, item, int) for item in items]
        return list(items)
    if name == "LOG_LEVEL":
        if str(raw).upper() not in _LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL: expected one of {', '.join(_LOG_LEVELS)}, got {raw!r}")
        return str(raw).upper()
    if isinstance(default, str) and default.startswith(("scrapy.", "twisted.")) and "." in str(raw):
        _loadable(name, raw)  # a class Scrapy loads by import path: a typo fails here, not mid-start
    return raw


def command_line_settings(extra: dict[str, object]) -> dict[str, object]:
    """Checked and coerced ``--set`` values (strings from the command line, or Python values),
    ready to lay over the add-on's settings. Raises :class:`SettingsError` (one line, naming the
    setting) for an unknown name, a value of the wrong type, or one that would disable copyright-guard."""
    defaults = _scrapy_defaults()
    checked: dict[str, object] = {}
    for name, raw in extra.items():
        if name.startswith("COPYRIGHT_GUARD_"):
            if name not in DEFAULTS:
                raise SettingsError(f"{name}: not a copyright-guard setting (expected one of {', '.join(DEFAULTS)})")
            if name == "COPYRIGHT_GUARD_ENABLED":
                if not _boolean(name, raw):
                    raise SettingsError("COPYRIGHT_GUARD_ENABLED: copyright-guard crawl always runs with the "
                                        "checks on (run Scrapy directly to crawl without them)")
                raw = True
            checked[name] = raw  # read_settings() checks the value itself
        elif name in defaults:
            checked[name] = _coerce(name, raw, defaults[name])
        else:
            raise SettingsError(f"{name}: not a Scrapy setting (see https://docs.scrapy.org/en/latest/topics/settings.html)")
    return checked


def guard_component_dicts(values: dict[str, object]) -> None:
    """Put the add-on back into ``values["ADDONS"]`` (in place) if a command-line ADDONS left it
    out: ADDONS given to ``copyright-guard crawl`` add to the add-on, never replace it. The add-on
    itself re-installs its middlewares and extension in whatever the other dicts say."""
    addons = values.get("ADDONS")
    if isinstance(addons, dict) and not any(_same_component(key, ADDON_PATH) for key in addons):
        values["ADDONS"] = {ADDON_PATH: 100, **addons}
