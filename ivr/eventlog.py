"""Events written after the answer: requests queue them, one thread per process writes batches.

What belongs here is what the line can lose to a killed worker: the voice line's analytics,
and a keyword text's claim and event (lost, a Twilio retry of that text gets the same answer
again; a number's next text from this process first waits for them: `waiting_for`). What must
survive a crash (opt-outs, voicemails, call-backs, crisis entries, staff alerts owed) is
committed before the reply. Writing a batch in one transaction every few milliseconds, instead
of one transaction per request, is most of what a webhook used to spend.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from weakref import WeakSet

log = logging.getLogger("ivr")
T = TypeVar("T")
WAIT = 0.05  # seconds a batch gathers more events before it is written: a killed worker loses this
MOST = 500  # events in one batch, at most
# Requests queued and not yet written, at most: past it, a request waits for the writer
# (up to FLUSH_WAIT) before it queues, so a writer slower than a busy night's requests
# holds a bounded queue in memory (about a kilobyte a text), and a killed worker loses at
# most this many, instead of both growing for as long as the rush lasts.
BACKLOG = 4 * MOST
FLUSH_WAIT = 10.0  # seconds flush() and a clean shutdown wait for the writer, at most
# Seconds a webhook waits for its number's earlier events (store_base._in_order), at most: they
# only order what it reads and writes, and a text may call for that three times. Waiting
# FLUSH_WAIT each time, an overdose text behind a locked database was answered after 45 s,
# when Twilio had given up at 15.
IN_ORDER_WAIT = 1.0
IDLE = 1.0  # seconds without events after which the thread ends (the next event starts another)


@dataclass(frozen=True)
class Pending(Generic[T]):
    """One request's events: when, whose number (hashed when written), and what happened;
    with the delivery it claims (key, reply), if any: its events are kept only with it."""

    at: datetime
    number: str | None
    notes: Sequence[T]
    claim: tuple[str, str | None] | None = None


class Later(Generic[T]):
    """A queue of requests' events and the thread that writes them, `WAIT` seconds at a time.

    `write` stores a batch in one transaction and returns False when it could not (it logs
    and counts the failure itself, as a request's own write would). `flush()` returns once
    everything queued before it is written; a clean exit (atexit: gunicorn's SIGTERM, Ctrl-C)
    flushes too. The thread starts with the first event in each process, so an app built
    before gunicorn forks its workers still gets one writer per worker, and ends after
    `IDLE` seconds without events, so a store no one uses holds no thread.
    """

    def __init__(self, write: Callable[[list[Pending[T]]], bool], wait: float = WAIT):
        self._write = write
        self._wait = wait
        self._changed = threading.Condition()
        self._queued = self._written = 0
        self._numbers: Counter[str] = Counter()  # numbers with requests queued, not yet written
        self._hurry = threading.Event()
        self._queue: queue.SimpleQueue[Pending[T]] = queue.SimpleQueue()
        self._owner: int | None = None  # the process whose thread is writing, None when none is
        _OPEN.add(self)

    def add(
        self,
        at: datetime,
        number: str | None,
        notes: Sequence[T],
        claim: tuple[str, str | None] | None = None,
    ) -> None:
        """Queue one request's events (and the delivery it claims); written within `wait` s.
        With BACKLOG requests queued already, first wait for the writer to catch up."""
        if not notes and claim is None:
            return
        with self._changed:
            if self._owner != os.getpid():
                self._start()
            elif self._queued - self._written >= BACKLOG:
                self._hurry.set()
                if not self._changed.wait_for(self._below_backlog, FLUSH_WAIT):
                    log.error("the events writer is over %s s behind", FLUSH_WAIT)
            self._queued += 1
            if number:
                self._numbers[number] += 1
            self._queue.put(Pending(at, number, notes, claim))

    def _below_backlog(self) -> bool:
        return self._queued - self._written < BACKLOG

    def waiting_for(self, number: str) -> bool:
        """True while something this process queued for `number` is not written yet."""
        return self._numbers.get(number, 0) > 0

    def flush(self, wait: float = FLUSH_WAIT) -> None:
        """Write everything queued so far before returning (readers of events call this);
        after `wait` seconds, return all the same (logged)."""
        with self._changed:
            target = self._queued
            if self._written >= target or self._owner != os.getpid():
                return
            self._hurry.set()
            if not self._changed.wait_for(lambda: self._written >= target, wait):
                log.error("events not written within %s s of a flush", wait)

    def _start(self) -> None:
        """A new writer thread for this process (after a fork, the parent's is not here)."""
        self._owner = os.getpid()
        self._queue = queue.SimpleQueue()
        self._queued = self._written = 0
        self._numbers = Counter()
        threading.Thread(target=self._run, name="ivr-events", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE)]
            except queue.Empty:
                with self._changed:  # add() puts under this lock: empty now means no event waits
                    if self._queue.empty():
                        self._owner = None
                        return
                continue
            if self._queue.qsize() < MOST:  # a full batch waits for no more
                self._hurry.wait(self._wait)
            self._hurry.clear()
            while len(batch) < MOST:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception:  # the writer must outlive any one batch; the failure is logged
                log.exception("events not written")
            with self._changed:
                self._written += len(batch)
                self._numbers.subtract(p.number for p in batch if p.number)
                self._numbers += Counter()  # drops the numbers with nothing left queued
                self._changed.notify_all()


_OPEN: WeakSet[Later[Any]] = WeakSet()


@atexit.register
def _flush_all() -> None:
    """A clean exit (gunicorn's SIGTERM to a worker, Ctrl-C) writes every queued event first."""
    for later in list(_OPEN):
        later.flush()
