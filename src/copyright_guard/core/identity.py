"""The crawler's and the operator's identity: is it configured, and a starter policy that configures it.

Pure: text in, text out. The shipped default policy carries a placeholder identity
(``example.invalid``, RFC 2606 §2: a name that can never resolve). Sites would see a crawler every
operator shares and a contact nobody reads, so ``crawl``, the Scrapy add-on and ``serve`` refuse it
(Code of Practice Measure 1.3: publish *your* crawler; Measure 1.5: a real point of contact).
The bundled demo runs offline under :func:`demo_policy_text`, a clearly marked demo identity.
"""

from __future__ import annotations

import re

from .policy import PRODUCT_TOKEN_RE, Policy

PLACEHOLDER_DOMAIN = "example.invalid"
PLACEHOLDER_OPERATOR = "Example AI Lab"
INIT_COMMAND = "copyright-guard init --out policy.toml"

# The demo's identity: marked as such in every place a site or a reader sees it.
DEMO_TOKEN = "CopyrightGuardBot"
DEMO_USER_AGENT = "CopyrightGuardBot/0.1 (+http://127.0.0.1/crawler; DEMO ONLY, local demo site, no real operator)"
DEMO_CONTACT = "demo@localhost"
DEMO_OPERATOR = "copyright-guard demo (no real operator)"


def placeholder_keys(policy: Policy, *, portal: bool = True) -> list[str]:
    """The identity keys still holding the shipped placeholder, as ``[section] key`` names.

    ``portal`` also checks the complaint desk's operator and contact (``serve`` and the crawl both
    need them: the crawler page and the User-Agent point site owners there)."""
    keys = []
    if PLACEHOLDER_DOMAIN in policy.crawler.user_agent.lower():
        keys.append("[crawler] user_agent")
    if portal:
        if PLACEHOLDER_DOMAIN in policy.complaints.contact_email.lower():
            keys.append("[complaints] contact_email")
        if policy.complaints.operator_name.strip() == PLACEHOLDER_OPERATOR:
            keys.append("[complaints] operator_name")
    return keys


def placeholder_problem(policy: Policy) -> str | None:
    """One line for a policy with a placeholder identity (``None`` when it is configured)."""
    keys = placeholder_keys(policy)
    if not keys:
        return None
    return (f"{policy.source_name} has the placeholder identity ({PLACEHOLDER_DOMAIN}): set "
            f"{', '.join(keys)} to your own, or write a starter policy with `{INIT_COMMAND}`")


class IdentityError(ValueError):
    """A value given for the identity is unusable; ``str()`` is one line naming it."""


def user_agent_for(token: str, version: str, info_url: str, contact: str) -> str:
    """``Token/version (+info-url; contact)``: the common crawler form (RFC 9110 §10.1.5 product and
    comment) - the token for robots.txt groups, a page that explains us, and whom to write to."""
    return f"{token}/{version} (+{info_url}; {contact})"


def check_identity(token: str, info_url: str, contact_email: str, operator_name: str) -> None:
    """Raise :class:`IdentityError` for a value ``init`` must not write."""
    if not PRODUCT_TOKEN_RE.fullmatch(token):
        raise IdentityError(f"product token {token!r}: letters, '-' and '_' only (RFC 9309 §2.2.1)")
    if not re.fullmatch(r"https?://[!-~]+", info_url) or '"' in info_url or "\\" in info_url:
        raise IdentityError(f"information URL {info_url!r}: an absolute http(s) URL of printable ASCII, "
                            "e.g. https://ai.example.com/crawler")
    if not re.fullmatch(r"[^@\s;()]+@[^@\s;()]+\.[^@\s;()]+", contact_email) or not contact_email.isascii():
        raise IdentityError(f"contact email {contact_email!r}: an address like copyright@example.com")
    if not operator_name.strip() or any(ord(c) < 32 or c == '"' or c == "\\" for c in operator_name):
        raise IdentityError(f"operator name {operator_name!r}: one line of text without quotes or backslashes")
    for name, value in (("information URL", info_url), ("contact email", contact_email)):
        if PLACEHOLDER_DOMAIN in value.lower():
            raise IdentityError(f"{name} {value!r} is the placeholder: give your own")


def _replace_key(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = "value"`` inside ``[section]`` of the default policy's text, keeping its comments
    (the starter policy stays the documented default with only the identity changed)."""
    pattern = re.compile(rf"(^\[{re.escape(section)}\]\n(?:(?!^\[).*\n)*?){re.escape(key)} = .*$", re.MULTILINE)
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    replaced, count = pattern.subn(lambda m: f"{m.group(1)}{key} = {quoted}", text, count=1)
    if count != 1:
        raise IdentityError(f"the default policy has no [{section}] {key} line to fill in")
    return replaced


def starter_policy_text(default_text: str, *, token: str, info_url: str, contact_email: str, operator_name: str,
                        name: str = "my-policy", version: str = "1.0") -> str:
    """The bundled default policy with the identity filled in (``copyright-guard init``)."""
    check_identity(token, info_url, contact_email, operator_name)
    text = _replace_key(default_text, "policy", "name", name)
    text = _replace_key(text, "crawler", "product_token", token)
    text = _replace_key(text, "crawler", "user_agent", user_agent_for(token, version, info_url, contact_email))
    text = _replace_key(text, "complaints", "contact_email", contact_email)
    return _replace_key(text, "complaints", "operator_name", operator_name)


def demo_policy_text(default_text: str) -> str:
    """The bundled default policy under the demo's marked identity (``copyright-guard demo`` only)."""
    text = _replace_key(default_text, "policy", "name", "demo (strict default, demo identity)")
    text = _replace_key(text, "crawler", "user_agent", DEMO_USER_AGENT)
    text = _replace_key(text, "complaints", "contact_email", DEMO_CONTACT)
    return _replace_key(text, "complaints", "operator_name", DEMO_OPERATOR)
