"""Checkpoint files for witnesses, and inclusion proofs a third party checks without the database.

Checkpoint file (``audit checkpoints --out``), plain text::

    # key <run id> <verifier key>          one per run: C2SP vkey (store/note.py)
    <signed note>                           every checkpoint of those runs, in order
    ...                                     and each finished run's finish seal (a checkpoint of the
                                            whole run with a "run-finish <sha256>" line: its finish
                                            time and counts, store/chain.py finish_record_hash)

Inclusion proof (``audit prove``), JSON (``"format": "copyright-guard-inclusion-proof/1"``)::

    {"format", "run_id", "decision_id", "seq",
     "entry":      the decision row's canonical entry (chain.canonical_entry), as text,
     "leaf_index": seq - 1, "tree_size": N,
     "inclusion":  [base64 SHA-256 node hashes, RFC 9162 §2.1.3.1 PATH order],
     "checkpoint": the signed note of the run's checkpoint for tree size N}

To check one (``audit verify-proof``, or any RFC 9162 library): take the checkpoint from a copy
held outside (not the proof's own), check its signature with the run's key, then check that
SHA-256(0x00 || entry) is leaf ``leaf_index`` of the tree of ``tree_size`` leaves with the
checkpoint's root hash (RFC 9162 §2.1.3.2). The entry is the decision itself: its URL, verdict,
reasons (with evidence hashes), policy hash and time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .chain import url_key
from .checkpoints import origin_for
from .checkpoints import stored as stored_checkpoints
from .merkle import leaf_hash, verify_inclusion
from .nodes import MissingRows, RunTree
from .note import Checkpoint, NoteError, parse_checkpoint
from .schema import checkpoints, decisions, runs

PROOF_FORMAT = "copyright-guard-inclusion-proof/1"
MAX_PROOF_BYTES = 1024 * 1024


class ProofError(ValueError):
    """One line saying why a proof could not be made or does not hold."""


def checkpoint_file(engine: Engine, run_id: str | None = None) -> Iterator[str]:
    """The lines of a checkpoint file for one run or all (see the module docstring)."""
    with engine.connect() as connection:
        query = (select(runs.c.id, runs.c.log_key, runs.c.finish_note).where(runs.c.log_key.is_not(None))
                 .order_by(runs.c.started_at, runs.c.id))
        if run_id is not None:
            query = query.where(runs.c.id == run_id)
        keyed = connection.execute(query).all()
        for run in keyed:
            yield f"# key {run.id} {run.log_key}\n"
        for run in keyed:
            for row in stored_checkpoints(connection, run.id):
                yield row.note
            if run.finish_note is not None:  # the finish seal: a checkpoint of the whole run that signs its finish record
                yield run.finish_note


def prove(engine: Engine, target: str) -> dict:
    """An inclusion proof for a decision id, or for the newest decision about a URL."""
    with engine.connect() as connection:
        condition = decisions.c.id == target if len(target) == 32 and "/" not in target else None
        if condition is None:
            condition = (decisions.c.url_key == url_key(target)) & (decisions.c.url == target)
        row = connection.execute(select(decisions.c.id, decisions.c.run_id, decisions.c.seq)
                                 .where(condition).order_by(decisions.c.decided_at.desc()).limit(1)).first()
        if row is None:
            raise ProofError(f"no decision {target!r} in the audit database (give a decision id or a URL)")
        size = connection.execute(select(func.min(checkpoints.c.tree_size)).where(
            checkpoints.c.run_id == row.run_id, checkpoints.c.tree_size >= row.seq)).scalar()
        if size is None:
            raise ProofError(f"decision {row.id} (run {row.run_id}, seq {row.seq}) is after the run's last signed "
                             "checkpoint: it is not anchored yet, so there is nothing to prove it against")
        note = connection.execute(select(checkpoints.c.note).where(
            checkpoints.c.run_id == row.run_id, checkpoints.c.tree_size == size)).scalar_one()
        # The stored nodes on the path and at most two chunks of 256 rows (store/nodes.py), not the run.
        tree = RunTree(connection, row.run_id, size)
        try:
            path = tree.path(row.seq - 1)
            entry = tree.entry(row.seq - 1)
        except MissingRows as exc:
            raise ProofError(str(exc)) from None
    # Checked before it is handed out, against the root the stored note signed (a wrong stored node
    # or row gives a proof that would not check): a one-line refusal, never a bad proof.
    try:
        root = parse_checkpoint(note.partition("\n\n")[0] + "\n").root
    except NoteError:
        root = b""
    if not verify_inclusion(leaf_hash(entry.encode("utf-8")), row.seq - 1, size, path, root):
        raise ProofError(f"the stored decisions of run {row.run_id} do not match its checkpoint for tree size {size} "
                         "(run `audit verify`)")
    return {"format": PROOF_FORMAT, "run_id": row.run_id, "decision_id": row.id, "seq": row.seq,
            "entry": entry, "leaf_index": row.seq - 1, "tree_size": size,
            "inclusion": [base64.b64encode(node).decode() for node in path],
            "checkpoint": note}


def read_proof(data: bytes) -> dict:
    try:
        proof = json.loads(data)
    except ValueError as exc:
        raise ProofError(f"not JSON ({exc})") from None
    if not isinstance(proof, dict) or proof.get("format") != PROOF_FORMAT:
        raise ProofError(f"not a {PROOF_FORMAT} document")
    for key, kind in (("run_id", str), ("entry", str), ("leaf_index", int), ("tree_size", int), ("inclusion", list)):
        if not isinstance(proof.get(key), kind):
            raise ProofError(f"the proof's {key!r} is missing or not a {kind.__name__}")
    return proof


def check_proof(proof: dict, held: dict[str, list]) -> Checkpoint:
    """Check ``proof`` against checkpoints held outside (``verify.read_checkpoint_file``)."""
    run_id, size = proof["run_id"], proof["tree_size"]
    matching = [c for c in held.get(run_id, []) if isinstance(c, Checkpoint) and c.size == size]
    if not matching:
        problems = [c for c in held.get(run_id, []) if isinstance(c, str)]
        raise ProofError(problems[0] if problems else
                         f"the checkpoint file holds no valid checkpoint of run {run_id} with tree size {size}")
    checkpoint = matching[0]
    if checkpoint.origin != origin_for(run_id):
        raise ProofError(f"the checkpoint is for another log ({checkpoint.origin})")
    try:
        path = [base64.b64decode(node, validate=True) for node in proof["inclusion"]]
    except (ValueError, TypeError):
        raise ProofError("the proof's inclusion path is not base64") from None
    leaf = leaf_hash(proof["entry"].encode("utf-8"))
    if not verify_inclusion(leaf, proof["leaf_index"], size, path, checkpoint.root):
        raise ProofError(f"the decision is NOT leaf {proof['leaf_index']} of the tree of {size} the checkpoint signed")
    return checkpoint


__all__ = ["checkpoint_file", "prove", "read_proof", "check_proof", "ProofError", "PROOF_FORMAT"]
