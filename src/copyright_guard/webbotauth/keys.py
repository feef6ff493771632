"""Ed25519 signing keys: generate, read, and publish (JWK, RFC 8037; thumbprint, RFC 7638).

The private key lives in a PEM file (PKCS#8) readable by its owner only; the key id sites see is
the JWK SHA-256 thumbprint of the public key, as draft-ietf-webbotauth-httpsig-protocol requires.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core.files import InputFileError, read_input_file, write_new_file

MAX_KEY_BYTES = 16 * 1024  # a PEM Ed25519 key is ~120 bytes; anything far larger is not one


class SigningKeyError(ValueError):
    """The key file is missing, unreadable or not an Ed25519 private key; ``str()`` is one line."""


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2, as JWK and the thumbprint use it)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 8037 §2: kty OKP, crv Ed25519, x the raw 32 bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 §3: SHA-256 over the required members (for OKP: crv, kty, x - RFC 8037 §2) in
    lexicographic order, JSON without whitespace; base64url."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    path: str

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return jwk_thumbprint(self.jwk)

    def directory(self) -> bytes:
        """The key directory document: a JWKS (RFC 7517 §5) with our public key, its thumbprint as
        ``kid`` and ``use: sig`` (a verifier takes the key whose thumbprint is the keyid it got)."""
        return json.dumps({"keys": [{**self.jwk, "kid": self.key_id, "use": "sig"}]}, indent=2).encode("utf-8")


def load_signing_key(path: str | Path) -> SigningKey:
    """Read an Ed25519 private key (PEM). Raises :class:`SigningKeyError` naming the file."""
    path = Path(path)
    try:
        # The one way a named file is read: its type checked before opening (a FIFO never hangs us).
        data = read_input_file(path, MAX_KEY_BYTES, "signing key")
    except InputFileError as exc:
        raise SigningKeyError(f"signing key: {exc}") from None
    if len(data) > MAX_KEY_BYTES:
        raise SigningKeyError(f"signing key {path}: larger than {MAX_KEY_BYTES} bytes: not a key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError(f"signing key {path}: not an unencrypted PEM private key "
                              "(write one with `copyright-guard identity keygen --out FILE`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key {path}: a {type(key).__name__.removeprefix('_')} key; "
                              "Web Bot Auth signs with Ed25519")
    return SigningKey(key, str(path))


def generate_key_file(path: str | Path) -> SigningKey:
    """Write a new Ed25519 private key (PKCS#8 PEM) to ``path``, mode 0600, never over an existing
    file (a key already published must not be lost). Raises :class:`SigningKeyError`."""
    path = Path(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        write_new_file(path, pem, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} already exists: a key is never overwritten (choose another --out)") from None
    except OSError as exc:
        raise SigningKeyError(f"cannot write {path}: {exc.strerror or exc}") from None
    return SigningKey(key, str(path))
