"""C2PA / CAWG training-and-data-mining assertions (protocols.md §7).

Labels ``c2pa.training-mining`` (C2PA 1.x) and ``cawg.training-mining`` (CAWG 1.1) are both read,
and entry names with either prefix; a signal's category is the entry name without its prefix
(``ai_training``, ``ai_generative_training``, ``ai_inference``, ``data_mining``). ``use``:
``allowed`` -> allowed, ``notAllowed`` -> reserved, and ``constrained`` -> reserved too (CAWG 1.1
§"Training and data mining": "in the absence of additional information, constrained shall be
treated as equivalent to notAllowed"). Only the active manifest (the last in the store) counts.

Two readers:
- with the optional ``c2pa-python`` package (extra ``c2pa``), its ``c2pa.Reader`` reads the
  manifest and validates hashes and signatures; the validation state is quoted in the detail.
  Remote manifests and OCSP are never fetched (the core does no I/O).
- without it, a built-in reader (core/embedded/jumbf.py + cbor2) reads the assertion from the embedded
  JUMBF store. It does NOT verify the claim signature or the asset hash; a reservation is honoured
  either way, since an unsigned "do not train" is still a rights holder's statement.
A store that neither reader can read is recorded as unreadable ("c2pa-python not installed: C2PA
manifests not checked" when the optional package is absent). Plain images without any JUMBF never
get a C2PA signal.
"""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache

import cbor2

from .evidence import AssetEvidence
from .jumbf import ASSERTION_STORE, MANIFEST, UPDATE_MANIFEST, JumbfError, manifest_store, might_carry_manifest, parse_superbox
from ..model import Signal, Value

LABELS = ("c2pa.training-mining", "cawg.training-mining")
ENTRIES = ("ai_training", "ai_generative_training", "ai_inference", "data_mining")
USES = {"allowed": Value.ALLOWED, "notAllowed": Value.RESERVED, "constrained": Value.RESERVED}
NOT_INSTALLED = "c2pa-python not installed: C2PA manifests not checked"
MAX_ASSERTION_BYTES = 64 * 1024  # a training-mining map is a few hundred bytes
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
         "GIF": "image/gif", "PDF": "application/pdf", "AVIF": "image/avif", "HEIF": "image/heif"}


def c2pa_signals(data: bytes, asset: AssetEvidence, limit: int | None = None) -> list[Signal]:
    """Training-mining signals of the active manifest; ``limit`` bounds the cheap marker search."""
    if not might_carry_manifest(data, limit):
        return []
    reader = native_reader()
    if reader is None:
        found = _read_builtin(data, asset, "signature not validated: c2pa-python not installed", NOT_INSTALLED)
        return found or []
    found, problem = _read_native(reader, data, asset)
    if not problem:
        return found
    # c2pa-python refused the store (malformed, or no claim): still read a reservation if we can.
    note = f"c2pa-python could not read the manifest ({problem}); assertion read without signature validation"
    found = _read_builtin(data, asset, note, f"C2PA manifest unreadable: c2pa-python: {problem}")
    return found or []  # no JUMBF store either: the asset is broken, but carries no manifest we can see


# --- the built-in reader --------------------------------------------------------------------


def _read_builtin(data: bytes, asset: AssetEvidence, note: str, failure: str) -> list[Signal] | None:
    """Signals from the embedded store; ``None`` when there is no store at all (a false alarm)."""
    store = manifest_store(data)
    if store is None:
        return None
    try:
        manifests = [m for m in parse_superbox(store).superboxes() if m.type_code in (MANIFEST, UPDATE_MANIFEST)]
        if not manifests:
            raise JumbfError("C2PA manifest store holds no manifest")
        active = manifests[-1]
        stores = [s for s in active.superboxes() if s.type_code == ASSERTION_STORE]
        assertions = stores[0].superboxes() if stores else []
    except JumbfError as exc:
        return [asset.unreadable("c2pa", "training-mining", f"{failure}; built-in reader: {exc}", store[:MAX_ASSERTION_BYTES])]
    signals: list[Signal] = []
    for assertion in assertions:
        label = _base_label(assertion.label)
        if label not in LABELS:
            continue
        content = next((box for box in assertion.children if box.kind in (b"cbor", b"json")), None)
        where = f"C2PA manifest {active.label} assertion {assertion.label}"
        if content is None or len(content.payload) > MAX_ASSERTION_BYTES:
            signals.append(asset.unreadable("c2pa", "training-mining", f"{where}: no CBOR/JSON content within {MAX_ASSERTION_BYTES} bytes"))
            continue
        try:
            if content.kind == b"cbor":
                body = cbor2.loads(content.payload, max_depth=16)
            else:
                body = json.loads(content.payload)
        except (cbor2.CBORDecodeError, ValueError, RecursionError) as exc:
            signals.append(asset.unreadable("c2pa", "training-mining", f"{where}: payload does not decode ({exc})", content.payload))
            continue
        signals.extend(entry_signals(body, label, where, content.payload, asset, note))
    return signals


def _base_label(label: str) -> str:
    # C2PA §6.2: a second instance of a label gets "__N"; versioned labels end in ".vN".
    return re.sub(r"(\.v\d+)?(__\d+)?$", "", label)


# --- assertion content -> signals (both readers) --------------------------------------------


def entry_signals(body: object, label: str, where: str, raw: bytes, asset: AssetEvidence, note: str) -> list[Signal]:
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, dict):
        return [asset.unreadable("c2pa", "training-mining", f"{where}: no 'entries' map", raw)]
    signals = []
    for name, entry in entries.items():
        category = str(name).removeprefix("c2pa.").removeprefix("cawg.")
        if category not in ENTRIES:
            continue  # the CDDL allows other entries (`* tstr => any`); none maps to a purpose
        use = entry.get("use") if isinstance(entry, dict) else None
        value = USES.get(use) if isinstance(use, str) else None
        location = f"{where}: {name} use={use}"
        if value is None:
            signals.append(asset.unreadable("c2pa", category, f"{where}: {name} has no valid 'use' ({use!r})", raw))
            continue
        # The CAWG prose says constraints_info, its CDDL constraint_info: accept both.
        info = entry.get("constraint_info", entry.get("constraints_info"))
        extra = f"; constraint: {str(info)[:200]!r}" if use == "constrained" and info else ""
        detail = f"C2PA {label}: {name} = {use}{extra} in {asset.kind} ({note})"
        signals.append(asset.signal("c2pa", category, value, location, raw, detail))
    return signals


# --- the optional c2pa-python reader --------------------------------------------------------


@lru_cache(maxsize=1)
def native_reader():
    """The ``c2pa`` module of c2pa-python, or ``None`` when the optional extra is not installed."""
    try:
        import c2pa  # noqa: PLC0415 - optional dependency, imported on first need
    except ImportError:
        return None
    return c2pa


@lru_cache(maxsize=1)
def _context(c2pa):
    # No network from the core: never fetch remote manifests or OCSP responses.
    settings = c2pa.Settings.from_json(json.dumps({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}))
    return c2pa.Context(settings)


def _read_native(c2pa, data: bytes, asset: AssetEvidence) -> tuple[list[Signal], str]:
    """(signals, "") on success, ([], one-line problem) when c2pa-python cannot read the store."""
    try:
        with c2pa.Reader(_MIME.get(asset.kind), io.BytesIO(data), context=_context(c2pa)) as reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state() or "unknown"  # Valid / Trusted / Invalid
    except Exception as exc:  # c2pa-python raises C2paError subclasses, and ValueError/OSError
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "ManifestNotFound" in type(exc).__name__ or "JumbfNotFound" in message:
            return [], ""  # the cheap marker test was a false alarm
        return [], message
    label = report.get("active_manifest")
    manifest = report.get("manifests", {}).get(label) if isinstance(report.get("manifests"), dict) else None
    if not isinstance(manifest, dict):
        return [], ""
    signals: list[Signal] = []
    for assertion in manifest.get("assertions") or []:
        base = _base_label(str(assertion.get("label", "")))
        if base not in LABELS:
            continue
        raw = json.dumps(assertion, sort_keys=True, separators=(",", ":")).encode()
        where = f"C2PA manifest {label} assertion {assertion.get('label')}"
        signals.extend(entry_signals(assertion.get("data"), base, where, raw, asset, f"c2pa-python validation state: {state}"))
    return signals, ""
