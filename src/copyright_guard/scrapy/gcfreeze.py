"""``COPYRIGHT_GUARD_GC_FREEZE``: keep the garbage collector off the crawl's start-up objects.

Why: the audit store, the policy model and the public-suffix data add ~60,000 long-lived objects
(SQLAlchemy, Alembic, pydantic, tldextract) to a Scrapy process. CPython's full collections scan
every tracked object, again and again during a crawl; in the crawl benchmark that alone cost the
add-on more than all its decisions (README "Benchmarks"). ``gc.freeze()`` moves the objects alive
at that moment to a permanent generation that collections skip (Python docs, ``gc.freeze``).

It is a process-wide switch, so it is scoped to the crawl:

* frozen once, when the first guarded spider of the process opens (after a ``gc.collect()``, so
  no garbage is frozen; a second crawler in the same process does not freeze the first one's
  requests), released with ``gc.unfreeze()`` when the last one closes - frozen objects are
  still freed by reference counting; only *cyclic* garbage among them waits until the release;
* a process that had frozen objects before us (its own ``gc.freeze()``, e.g. a pre-fork server)
  is left frozen: we never unfreeze what we did not freeze;
* ``COPYRIGHT_GUARD_GC_FREEZE = False`` leaves the collector alone.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holders = 0  # guarded spiders open in this process that asked for the freeze
_ours = False  # whether the permanent generation was empty when the first of them froze it


def freeze_startup_objects() -> None:
    """Called when a guarded spider opens. Every call must be paired with :func:`release`."""
    global _holders, _ours
    with _lock:
        _holders += 1
        if _holders > 1:
            # Frozen already; freezing again would also freeze the running spiders' requests.
            return
        _ours = gc.get_freeze_count() == 0
        gc.collect()
        gc.freeze()


def release() -> None:
    """Called when a guarded spider that froze closes; the last one unfreezes (if the freeze was ours)."""
    global _holders
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0 and _ours:
            gc.unfreeze()
