"""The signer a policy asks for: ``[crawler] signing_key`` and ``key_directory``."""

from __future__ import annotations

from datetime import timedelta

from ..core.policy import Policy
from .keys import SigningKeyError, load_signing_key
from .sign import RequestSigner

BASE_LIFETIME_SECONDS = 300


def signer_for_policy(policy: Policy, *, requests_per_slot: int = 16) -> RequestSigner | None:
    """``None`` when the policy names no signing key; raises :class:`SigningKeyError` (one line,
    naming the policy key) when the key file is unusable.

    A signature must still be valid when the request leaves. The crawler signs in its last
    downloader middleware, after which a request may wait in its site's download slot behind a
    Crawl-delay: so it lives five minutes plus the longest such wait (the policy's cap on
    Crawl-delay times the requests one slot may hold, ``requests_per_slot``)."""
    path = policy.signing_key_path()
    if path is None:
        return None
    try:
        key = load_signing_key(path)
    except SigningKeyError as exc:
        raise SigningKeyError(f"{policy.source_name}: [crawler] signing_key: {exc}") from None
    wait = policy.crawl.max_crawl_delay_seconds * requests_per_slot if policy.crawl.obey_crawl_delay else 0
    return RequestSigner(key, policy.crawler.key_directory or "",
                         lifetime=timedelta(seconds=BASE_LIFETIME_SECONDS + wait))
