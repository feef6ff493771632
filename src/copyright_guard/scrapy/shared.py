"""One result, awaited by any number of waiters.

Twisted's ``Deferred`` passes its result down a single callback chain: each callback's return
value is the next one's input. Awaiting a shared Deferred from several coroutines
(``maybe_deferred_to_future`` → ``Deferred.asFuture``) therefore hands the real result to the
first waiter only - ``asFuture``'s callback returns ``None``, which is all the second waiter sees,
and a failure is consumed by the first. That lost allowed pages whenever three or more requests
for a new origin were in flight (issue 17). :class:`SharedResult` keeps the outcome itself and gives
every waiter a Deferred of its own, fired with that outcome.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

T = TypeVar("T")

_PENDING = object()


class SharedResult(Generic[T]):
    """Settled once by its owner (:meth:`resolve` or :meth:`fail`); :meth:`wait` any number of
    times, before or after it is settled - every waiter gets the same value or the same exception."""

    __slots__ = ("_outcome", "_waiters")

    def __init__(self) -> None:
        self._outcome: object = _PENDING  # the value, or a Failure
        self._waiters: list[Deferred] = []

    @property
    def settled(self) -> bool:
        return self._outcome is not _PENDING

    async def wait(self) -> T:
        waiter: Deferred = Deferred()
        if self.settled:
            self._fire(waiter)
        else:
            self._waiters.append(waiter)
        return await maybe_deferred_to_future(waiter)

    def resolve(self, value: T) -> None:
        self._settle(value)

    def fail(self, exc: BaseException) -> None:
        self._settle(Failure(exc))

    def _settle(self, outcome: object) -> None:
        if self.settled:
            raise RuntimeError("a SharedResult is settled once")
        self._outcome = outcome
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._fire(waiter)

    def _fire(self, waiter: Deferred) -> None:
        outcome = self._outcome
        if isinstance(outcome, Failure):
            waiter.errback(outcome)
        else:
            waiter.callback(outcome)
