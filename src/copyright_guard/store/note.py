"""Signed checkpoints in the C2SP formats, so standard transparency-log tooling can read them.

- A **checkpoint** (C2SP tlog-checkpoint) is the text ``<origin>\\n<tree size>\\n<base64 root
  hash>\\n`` followed by extension lines; ours add ``time <UTC>`` and ``run-record <sha256>``
  (the run's record hash, store/chain.py), so the run's metadata is anchored too.
- It is published as a **signed note** (C2SP signed-note): the text, a blank line, then one line
  per signature: ``— <key name> <base64(4-byte key hash || Ed25519 signature)>``, the signature
  being over the text. Key hash = the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key).
- Keys use Go's note key encodings: the verifier key ``<name>+<key hash hex>+<base64(0x01 ||
  public key)>`` and the signer key ``PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || seed)>``.

Ed25519 comes from the ``cryptography`` library; nothing here is hand-rolled cryptography.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01  # the signed-note algorithm byte for Ed25519
_NAME = re.compile(r"[\x21-\x2a\x2c-\x7e]+")  # printable, no space, no '+'
_DASH = "\u2014 "


class NoteError(ValueError):
    """A key or note that cannot be read; the message is one line naming what is wrong."""


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def vkey(self) -> str:
        """The verifier key text: what a witness needs to check our notes."""
        return f"{self.name}+{key_hash(self.name, self.public).hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"

    def encode(self) -> str:
        seed = self.private.private_bytes_raw()
        return (f"PRIVATE+KEY+{self.name}+{key_hash(self.name, self.public).hex()}+"
                f"{base64.b64encode(bytes([ED25519]) + seed).decode()}")

    def sign(self, text: str) -> str:
        """The signed note: ``text`` (ending in a newline), a blank line, our signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self.private.sign(text.encode("utf-8"))
        blob = base64.b64encode(key_hash(self.name, self.public) + signature).decode()
        return f"{text}\n{_DASH}{self.name} {blob}\n"


def new_signer(name: str) -> Signer:
    if not _NAME.fullmatch(name):
        raise NoteError(f"key name {name!r}: printable characters only, no spaces or '+'")
    return Signer(name, Ed25519PrivateKey.generate())


def parse_signer(text: str) -> Signer:
    parts = text.strip().split("+", 4)  # base64 may hold '+' too
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("not a signer key (expected PRIVATE+KEY+<name>+<hash>+<key>)")
    name, _, blob = parts[2:]
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise NoteError("the signer key is not base64") from None
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the signer key is not an Ed25519 key")
    return Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))


@dataclass(frozen=True)
class Verifier:
    name: str
    hash: bytes
    public: Ed25519PublicKey


def parse_vkey(text: str) -> Verifier:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("not a verifier key (expected <name>+<hash>+<key>)")
    name, hash_hex, blob = parts
    try:
        raw = base64.b64decode(blob, validate=True)
        claimed = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError):
        raise NoteError("the verifier key is not hex and base64") from None
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    if key_hash(name, raw[1:]) != claimed:
        raise NoteError("the verifier key's hash does not match its name and key")
    return Verifier(name, claimed, Ed25519PublicKey.from_public_bytes(raw[1:]))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    text: str  # the signed text, verbatim

    def extension(self, key: str) -> str | None:
        for line in self.extensions:
            if line.startswith(key + " "):
                return line[len(key) + 1:]
        return None


def checkpoint_text(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    return "".join(f"{line}\n" for line in (origin, str(size), base64.b64encode(root).decode(), *extensions))


def open_note(note: str, verifier: Verifier) -> Checkpoint:
    """Check the note's signature by ``verifier`` and read the checkpoint; NoteError if not."""
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("not a signed note (no blank line before the signatures)")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith(_DASH):
            continue
        name, _, blob = line[len(_DASH):].partition(" ")
        if name != verifier.name:
            continue
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            continue
        if raw[:4] != verifier.hash:
            continue
        try:
            verifier.public.verify(raw[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not match the checkpoint text") from None
        return parse_checkpoint(text)
    raise NoteError(f"the note carries no signature by key {verifier.name}")


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash")
    origin, size, root = lines[:3]
    try:
        size_n = int(size) if size.isdigit() else -1
        root_b = base64.b64decode(root, validate=True)
    except binascii.Error:
        root_b = b""
    if size_n < 0 or len(root_b) != 32:
        raise NoteError("the checkpoint's tree size or root hash is not readable")
    return Checkpoint(origin, size_n, root_b, tuple(lines[3:]), text)


def split_notes(text: str) -> list[str]:
    """Signed notes concatenated in one file (as `audit checkpoints` writes them), one by one.

    A note ends at the first blank line followed by signature lines; notes are separated by
    the end of their last signature line.
    """
    notes, current, in_signatures = [], [], False
    for line in text.splitlines(keepends=True):
        if in_signatures and not line.startswith(_DASH):
            notes.append("".join(current))
            current, in_signatures = [], False
        if line == "\n" and current and not in_signatures:
            in_signatures = True
        if line.strip() or current:
            current.append(line)
    if current:
        notes.append("".join(current))
    return notes
