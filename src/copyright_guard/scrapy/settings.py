"""The ``COPYRIGHT_GUARD_*`` Scrapy settings, read and validated once at start-up.

A bad value is a :class:`SettingsError` whose message names the setting, what was given and what
is expected. It is deliberately *not* ``NotConfigured``: Scrapy answers ``NotConfigured`` by
quietly dropping the component, which would turn a typo into a crawl with no copyright checks.
``NotConfigured`` is raised only for ``COPYRIGHT_GUARD_ENABLED = False`` (an explicit choice).
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from ..core.model import PURPOSES
from ..core.policy import Policy, PolicyError, load_policy

# The documented settings and their defaults (README "Crawling with Scrapy" lists each one).
DEFAULTS: dict[str, object] = {
    "COPYRIGHT_GUARD_ENABLED": True,
    "COPYRIGHT_GUARD_POLICY": None,  # None: the bundled strict default (policies/default.toml)
    "COPYRIGHT_GUARD_DB": None,  # None: $COPYRIGHT_GUARD_DB or sqlite:///copyright-guard.db
    "COPYRIGHT_GUARD_PURPOSE": None,  # None: the policy's [purposes] default
    "COPYRIGHT_GUARD_SITE_FILE_PRIORITY": 1000,  # like Scrapy's robots.txt requests
    "COPYRIGHT_GUARD_ITEM_FIELD": "copyright_guard_decision_id",
    "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 60.0,  # seconds between progress log lines; 0 = off
    "COPYRIGHT_GUARD_GC_FREEZE": True,  # gc.freeze() the start-up objects while guarded spiders run (gcfreeze.py)
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
    policy_path = _optional_text(settings, "COPYRIGHT_GUARD_POLICY")
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise SettingsError(f"COPYRIGHT_GUARD_POLICY: {exc}") from None
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
    )


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
