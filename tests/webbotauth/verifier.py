"""An independent Web Bot Auth verifier, written for the tests from the drafts and RFC 9421 - not
the signing code (webbotauth/ uses the http-message-signatures library; this parses with http-sfv,
builds the signature base by hand and checks Ed25519 with cryptography).

draft-ietf-webbotauth-httpsig-protocol / reference protocols.md "Web Bot Auth":
``Signature-Input: sig1=("@authority" "signature-agent");created;expires;keyid;alg="ed25519";tag="web-bot-auth"``,
the signature base is (RFC 9421 §2.5) one line per covered component then ``"@signature-params"``.
"""

from __future__ import annotations

import base64
import hashlib
import json

import http_sfv
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3.2 for an OKP key (RFC 8037 §2): {"crv","kty","x"} in that order, no whitespace."""
    canonical = '{"crv":"%s","kty":"%s","x":"%s"}' % (jwk["crv"], jwk["kty"], jwk["x"])
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def keys_by_id(directory: dict) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for jwk in directory["keys"]:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            keys[thumbprint(jwk)] = Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
    return keys


def _one(headers: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    return values[0] if len(values) == 1 else None


def _member(field_value: str, label: str = "sig1"):
    parsed = http_sfv.Dictionary()
    parsed.parse(field_value.encode("ascii"))
    return parsed[label]


def verify_request(headers: list[tuple[str, str]], directory: dict, now: float,
                   tag: str = "web-bot-auth") -> tuple[bool, str]:
    """Is this request (its header lines as received) validly signed by a key of ``directory``?
    Returns (ok, why not)."""
    host, agent = _one(headers, "host"), _one(headers, "signature-agent")
    signature_input, signature = _one(headers, "signature-input"), _one(headers, "signature")
    if not (host and agent and signature_input and signature):
        return False, "missing Host, Signature-Agent, Signature-Input or Signature"
    member = _member(signature_input)
    components = [item.value for item in member]
    if components != ["@authority", "signature-agent"]:
        return False, f"covers {components}"
    params = member.params
    if params.get("tag") != tag or params.get("alg") != "ed25519":
        return False, f"tag/alg {params.get('tag')!r}/{params.get('alg')!r}"
    if not params["created"] <= now + 5 or not now <= params["expires"]:
        return False, "outside created..expires"
    key = keys_by_id(directory).get(params["keyid"])
    if key is None:
        return False, f"keyid {params['keyid']} is not in the directory"
    # RFC 9421 §2.3: "@signature-params" is the serialised inner list with its parameters: the
    # member value exactly as in Signature-Input (one member, label sig1).
    serialised = signature_input.split("=", 1)[1]
    base = (f'"@authority": {host.lower()}\n"signature-agent": {agent}\n'
            f'"@signature-params": {serialised}').encode()
    try:
        key.verify(_member(signature).value, base)
    except InvalidSignature:
        return False, "bad signature"
    return True, ""


def verify_directory_response(headers: dict[str, str], authority: str, directory: dict, now: float) -> tuple[bool, str]:
    """The directory response's own signature: ``("@authority";req)``, tag http-message-signatures-directory."""
    signature_input, signature = headers.get("signature-input"), headers.get("signature")
    if not (signature_input and signature):
        return False, "unsigned"
    member = _member(signature_input)
    if [(i.value, dict(i.params)) for i in member] != [("@authority", {"req": True})]:
        return False, "covers something else"
    params = member.params
    if params.get("tag") != "http-message-signatures-directory" or not params["created"] <= now + 5 <= params["expires"] + 5:
        return False, "tag or time"
    key = keys_by_id(directory).get(params["keyid"])
    if key is None:
        return False, "key not listed"
    base = f'"@authority";req: {authority}\n"@signature-params": {signature_input.split("=", 1)[1]}'.encode()
    try:
        key.verify(_member(signature).value, base)
    except InvalidSignature:
        return False, "bad signature"
    return True, ""


def directory_from(text: str | bytes) -> dict:
    return json.loads(text)
