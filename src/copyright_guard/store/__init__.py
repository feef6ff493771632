"""The audit database (SQLAlchemy 2, Alembic): decisions, evidence, runs, policies.

Entry points: :func:`connect`, :func:`start_run` / :func:`finish_run`, :class:`DecisionWriter`,
and the queries in :mod:`.audit` (explain, search, ``allowed_decisions_matching``).
"""

from .audit import allowed_decisions_matching
from .db import StoreError, connect
from .runs import finish_run, start_run
from .writer import DecisionWriter, install_signal_handlers

__all__ = [
    "DecisionWriter",
    "StoreError",
    "allowed_decisions_matching",
    "connect",
    "finish_run",
    "install_signal_handlers",
    "start_run",
]
