"""A :class:`~copyright_guard.core.model.SiteFile` as bytes, and back: what a shared site-file store
(scale/store.py, in Redis) keeps so that every worker of a crawl holds the *same* state.

Kept: kind, origin, status, error, fetch time, expiry, ``unreachable_since``, the evidence (URL,
final URL, status, location, fetch time, sha256), the body (cut at ``policy.cache.max_bytes`` by the
fetch, RFC 9309 §2.5, so an entry is bounded) and whether it was cut, and the last good copy (one
level: a PARSED file has none of its own). Not kept: the parsed object. It is rebuilt from the body
by :func:`~copyright_guard.fetch.states.parse_body`, the function the fetch itself parsed with, so a
state read back from the store gives the same decisions as the state the fetching worker holds.
Parsed objects are never pickled: whoever can write to the store must not be able to run code in
the workers.

Pure: JSON in, JSON out; a malformed entry raises :class:`CodecError` (one line).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from ..core.model import Evidence, SiteFile, SiteFileStatus, sha256_hex
from .states import parse_body

__all__ = ["CodecError", "decode_site_file", "encode_site_file"]

FORMAT = 1


class CodecError(ValueError):
    """A stored entry that cannot be read back (another version, or damaged). ``str()`` is one line."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise CodecError(f"time {value!r} has no time zone")
    return parsed


def _as_dict(site_file: SiteFile, with_last_good: bool = True) -> dict:
    evidence = site_file.evidence
    return {
        "kind": site_file.kind,
        "origin": site_file.origin,
        "status": site_file.status.value,
        "error": site_file.error,
        "fetched_at": _time(site_file.fetched_at),
        "expires_at": _time(site_file.expires_at),
        "unreachable_since": _time(site_file.unreachable_since),
        "cut": site_file.cut,
        "body": base64.b64encode(site_file.body).decode("ascii"),
        # An UNREACHABLE file past its grace period applies its last good copy's rules (§2.3.1.4).
        "applies_last_good": site_file.status is SiteFileStatus.UNREACHABLE and site_file.parsed is not None,
        "evidence": {
            "source": evidence.source, "location": evidence.location, "url": evidence.url,
            "final_url": evidence.final_url, "status": evidence.status,
            "fetched_at": _time(evidence.fetched_at), "sha256": evidence.sha256,
            "has_body": evidence.body is not None,
        },
        "last_good": _as_dict(site_file.last_good, False) if with_last_good and site_file.last_good else None,
    }


def encode_site_file(site_file: SiteFile) -> bytes:
    return json.dumps({"format": FORMAT, **_as_dict(site_file)}, separators=(",", ":")).encode("utf-8")


def _from_dict(data: dict) -> SiteFile:
    status = SiteFileStatus(data["status"])
    body = base64.b64decode(data["body"], validate=True)
    ev = data["evidence"]
    if ev["sha256"] is not None and ev["has_body"] and sha256_hex(body) != ev["sha256"]:
        raise CodecError(f"{data['kind']} of {data['origin']}: the stored body does not match its sha256")
    last_good = _from_dict(data["last_good"]) if data.get("last_good") else None
    kind = str(data["kind"])
    if status is SiteFileStatus.PARSED:
        parsed = parse_body(kind, body, bool(data["cut"]))
    elif data["applies_last_good"]:
        if last_good is None:
            raise CodecError(f"{kind} of {data['origin']}: applies a last good copy the entry does not hold")
        parsed = last_good.parsed
    else:
        parsed = None
    evidence = Evidence(
        source=ev["source"], location=ev["location"], url=ev["url"], final_url=ev["final_url"],
        status=ev["status"], fetched_at=_parse_time(ev["fetched_at"]), sha256=ev["sha256"],
        body=body if ev["has_body"] else None,
    )
    return SiteFile(
        kind=kind, origin=str(data["origin"]), status=status, evidence=evidence,
        fetched_at=_parse_time(data["fetched_at"]), expires_at=_parse_time(data["expires_at"]),
        parsed=parsed, body=body, unreachable_since=_parse_time(data["unreachable_since"]),
        last_good=last_good, error=str(data["error"]), cut=bool(data["cut"]),
    )


def decode_site_file(raw: bytes) -> SiteFile:
    """The state :func:`encode_site_file` wrote. Raises CodecError for anything else."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CodecError(f"not a site-file entry of format {FORMAT}")
        return _from_dict(data)
    except CodecError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"damaged site-file entry: {type(exc).__name__}: {str(exc)[:200]}") from None
