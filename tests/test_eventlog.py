"""Events written after the answer: every queued event is written, in few batches, by a thread
that comes and goes with the work."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from ivr import eventlog
from ivr.eventlog import Later, Pending

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class Batches:
    """A writer that keeps what it was given, as the store would in one transaction."""

    def __init__(self, works: bool = True):
        self.batches: list[list[Pending[str]]] = []
        self.works = works

    def __call__(self, batch: list[Pending[str]]) -> bool:
        self.batches.append(batch)
        return self.works

    def notes(self) -> list[str]:
        return [note for batch in self.batches for pending in batch for note in pending.notes]


def writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ivr-events"]


def test_flush_returns_once_every_queued_event_is_written_in_a_few_batches():
    written = Batches()
    later: Later[str] = Later(written, wait=0.2)
    for n in range(300):
        later.add(AT, f"+1203555{n:04d}", [f"call {n}", f"topic {n}"])
    later.flush()
    assert written.notes() == [f"{kind} {n}" for n in range(300) for kind in ("call", "topic")]
    assert len(written.batches) <= 3  # one transaction for many requests, not one each
    assert [p.number for b in written.batches for p in b][:2] == ["+12035550000", "+12035550001"]


def test_events_are_written_without_a_flush_within_the_wait():
    written = Batches()
    later: Later[str] = Later(written, wait=0.01)
    later.add(AT, None, ["greeting"])
    deadline = time.monotonic() + 5
    while not written.batches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written.notes() == ["greeting"]


def test_a_request_with_no_events_queues_nothing_and_a_flush_with_nothing_queued_returns():
    written = Batches()
    later: Later[str] = Later(written)
    later.add(AT, "+12035550100", [])
    later.flush()
    assert written.batches == []


def test_a_batch_the_store_could_not_write_does_not_hold_up_the_next(caplog):
    written = Batches(works=False)  # the store logs and counts its own failure
    later: Later[str] = Later(written, wait=0.01)
    later.add(AT, None, ["first"])
    later.flush()
    later.add(AT, None, ["second"])
    later.flush()
    assert written.notes() == ["first", "second"]


def test_the_thread_ends_when_idle_and_the_next_event_starts_another(monkeypatch):
    monkeypatch.setattr(eventlog, "IDLE", 0.05)
    written = Batches()
    later: Later[str] = Later(written, wait=0.01)
    before = len(writers())
    later.add(AT, None, ["one"])
    later.flush()
    deadline = time.monotonic() + 5
    while len(writers()) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(writers()) == before  # a store no one uses keeps no thread
    later.add(AT, None, ["two"])
    later.flush()
    assert written.notes() == ["one", "two"]


def test_a_clean_exit_writes_what_is_queued():
    written = Batches()
    later: Later[str] = Later(written, wait=60)  # the thread would sit on it for a minute
    later.add(AT, None, ["last words"])
    eventlog._flush_all()  # what atexit runs when gunicorn stops a worker cleanly
    assert written.notes() == ["last words"]


@pytest.mark.safety_net  # the writer's catch-all is the path under test
def test_a_writer_that_raises_is_logged_and_the_thread_writes_the_next_batch(caplog, safety_net):
    """The thread's catch-all keeps one faulty batch from ending every later write; the fault
    is logged with its traceback, which fails any other test (tests/conftest.py's net)."""
    written: list[str] = []

    def write(batch: list[Pending[str]]) -> bool:
        notes = [note for pending in batch for note in pending.notes]
        if "bad" in notes:
            raise RuntimeError("a bug in the writer")
        written.extend(notes)
        return True

    later: Later[str] = Later(write, wait=0.01)
    later.add(AT, None, ["bad"])
    later.flush()
    later.add(AT, None, ["good"])
    later.flush()
    assert written == ["good"]
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["events not written"]
    assert any("events not written" in sign for sign in safety_net.signs)


def test_a_writer_slower_than_the_requests_holds_them_back_not_an_ever_longer_queue(monkeypatch):
    """Issue 11: on a busy night the requests may come faster than the writer thread writes
    them. The queue then stops at BACKLOG: a request waits for the writer before it queues,
    so the worker's memory, and what a killed worker would lose, stay bounded; nothing is
    dropped."""
    monkeypatch.setattr(eventlog, "BACKLOG", 40)
    monkeypatch.setattr(eventlog, "MOST", 10)
    written = Batches()

    def slow(batch: list[Pending[str]]) -> bool:
        time.sleep(0.01)  # a database slower than the requests
        return written(batch)

    later: Later[str] = Later(slow, wait=0.001)
    most = 0
    for n in range(400):
        later.add(AT, None, [f"e{n}"])
        most = max(most, later._queued - later._written)
    later.flush()
    assert most <= 40
    assert written.notes() == [f"e{n}" for n in range(400)]  # every one, in order
