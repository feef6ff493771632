"""The headers of one signed request (and of the signed key directory response).

draft-ietf-webbotauth-httpsig-protocol §4 (reference/protocols.md "Web Bot Auth"):

    Signature-Agent: "https://crawler.example/.well-known/http-message-signatures-directory"
    Signature-Input: sig1=("@authority" "signature-agent");created=…;keyid="…";alg="ed25519";expires=…;tag="web-bot-auth"
    Signature: sig1=:<base64 Ed25519 signature over the RFC 9421 §2.5 signature base>:

The RFC 9421 canonicalisation (component values, the signature base, Structured Field
serialisation) is the maintained ``http-message-signatures`` library's; this module only chooses
what is covered and the parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import http_sfv
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from .keys import SigningKey

DIRECTORY_PATH = "/.well-known/http-message-signatures-directory"
# draft-meunier-http-message-signatures-directory §5.1 / IANA media type of the key directory.
DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json"
REQUEST_TAG = "web-bot-auth"
DIRECTORY_TAG = "http-message-signatures-directory"
LABEL = "sig1"
REQUEST_COMPONENTS = ("@authority", "signature-agent")
DIRECTORY_COMPONENTS = ('"@authority";req',)


class _Fields:
    """The header interface the library reads and writes (it keeps repeated lines apart)."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(initial or {})

    def items(self):
        return list(self.values.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(key.lower() == name.lower() for key in self.values)

    def __setitem__(self, name: str, value: str) -> None:
        self.values[name] = value

    def __delitem__(self, name: str) -> None:
        for key in [k for k in self.values if k.lower() == name.lower()]:
            del self.values[key]


@dataclass
class _Request:
    method: str
    url: str
    headers: _Fields = field(default_factory=_Fields)


@dataclass
class _Response:
    status_code: int
    request: _Request
    headers: _Fields = field(default_factory=_Fields)


class RequestSigner:
    """Signs requests with one key. ``lifetime`` is how long a signature stays valid (``expires``):
    it must cover the time a request may wait in Scrapy's per-site queue after it was signed."""

    def __init__(self, key: SigningKey, directory_url: str, *, lifetime: timedelta = timedelta(minutes=5)) -> None:
        self.key = key
        self.key_id = key.key_id
        self.directory_url = directory_url
        self.lifetime = lifetime
        # RFC 8941 §3.3.3 sf-string: the URL quoted (policy.py admits no quote or backslash in it).
        self.signature_agent = str(http_sfv.Item(directory_url))
        # Ed25519 is deterministic and only @authority and the (fixed) Signature-Agent are covered,
        # so every request to one authority within one second (``created`` has whole seconds)
        # carries the very same headers: they are computed once per (scheme, host:port, second).
        self._cache: dict[tuple[str, str, int], dict[str, str]] = {}
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.key_id: key.private_key}),
        )

    def request_headers(self, method: str, url: str, now: datetime) -> dict[str, str]:
        """``Signature-Agent``, ``Signature-Input`` and ``Signature`` for a request to ``url``
        (only ``@authority`` - host[:port] of the URL - and ``signature-agent`` are covered, so the
        signature does not depend on the path, the method or any other header)."""
        parts = urlsplit(url)
        second = int(now.timestamp())
        key = (parts.scheme.lower(), parts.netloc.lower(), second)
        cached = self._cache.get(key)
        if cached is not None:
            return dict(cached)
        if self._cache and next(iter(self._cache))[2] != second:
            self._cache.clear()  # a new second: the old signatures are never reused
        message = _Request(method, url, _Fields({"Signature-Agent": self.signature_agent}))
        created = datetime.fromtimestamp(second, now.tzinfo)
        self._signer.sign(message, key_id=self.key_id, created=created, expires=created + self.lifetime, label=LABEL,
                          tag=REQUEST_TAG, covered_component_ids=REQUEST_COMPONENTS)
        if len(self._cache) < 4096:
            self._cache[key] = message.headers.values
        return dict(message.headers.values)

    def directory_headers(self, request_url: str, now: datetime) -> dict[str, str]:
        """``Signature-Input`` and ``Signature`` for the key directory response to a GET of
        ``request_url``: the directory proves it holds the keys it lists (the response covers the
        request's ``@authority``, tag ``http-message-signatures-directory``)."""
        response = _Response(200, _Request("GET", request_url), _Fields({"Content-Type": DIRECTORY_MEDIA_TYPE}))
        self._signer.sign(response, key_id=self.key_id, created=now, expires=now + self.lifetime, label=LABEL,
                          tag=DIRECTORY_TAG, covered_component_ids=DIRECTORY_COMPONENTS)
        return {name: value for name, value in response.headers.values.items() if name.lower() != "content-type"}
