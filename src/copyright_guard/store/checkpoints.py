"""Signed checkpoints of each run's Merkle tree: made while a run goes, read back, exported.

A checkpoint says "the first ``tree_size`` decisions of run R have Merkle root H" (store/merkle.py),
signed with the run's Ed25519 key in the C2SP signed-note format (store/note.py). The writer makes
one every ``checkpoint_every`` decisions or ``checkpoint_seconds`` seconds, in the transaction that
commits the rows it covers, and one when the run closes. A copy held outside the database (a
witness: another system, a ticket, an e-mail) is what makes a deleted tail, an appended forgery or
a recomputed tree detectable: ``audit verify --checkpoints FILE``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .chain import format_time
from .note import Signer, checkpoint_text
from .schema import checkpoints

ORIGIN_PREFIX = "copyright-guard/run/"


def origin_for(run_id: str) -> str:
    """The checkpoint origin line (C2SP tlog-checkpoint): one log per run."""
    return f"{ORIGIN_PREFIX}{run_id}"


def run_of_origin(origin: str) -> str | None:
    return origin[len(ORIGIN_PREFIX):] if origin.startswith(ORIGIN_PREFIX) else None


def sign(signer: Signer, run_id: str, size: int, root: bytes, record_hash: str | None, now: datetime,
         finish_hash: str | None = None) -> dict:
    """The checkpoint row for ``size`` leaves with ``root``, signed now. With ``finish_hash``, the
    run's finish seal: a checkpoint of the whole run that also signs its finish record
    (``run-finish`` line; chain.finish_record_hash), kept in ``runs.finish_note``."""
    signed_at = format_time(now)
    lines = (f"time {signed_at}", f"run-record {record_hash or '-'}") + ((f"run-finish {finish_hash}",) if finish_hash else ())
    text = checkpoint_text(origin_for(run_id), size, root, lines)
    return {"run_id": run_id, "tree_size": size, "root_hash": root.hex(), "signed_at": signed_at,
            "note": signer.sign(text)}


def stored(connection, run_id: str | None = None) -> list:
    query = select(checkpoints).order_by(checkpoints.c.run_id, checkpoints.c.tree_size)
    if run_id is not None:
        query = query.where(checkpoints.c.run_id == run_id)
    return connection.execute(query).all()

