"""SQLite's writers take turns through a lock file beside the database (flock).

SQLite makes a writer that finds the database locked sleep 1, 2, 5, 10 ms and more before
it looks again, so two gunicorn workers writing texts spent most of their time asleep (a
text line with two workers answered only 19% more than with one; STOP's p99 was 305 ms).
A writer waiting for the lock file looks again within 1 ms. engine.py takes the turn just
before BEGIN IMMEDIATE and gives it back when the connection returns to the pool (its
transaction is over); the kernel gives it back if a worker dies. After `wait` seconds
without it, a writer goes on to SQLite's own wait and time-out. A thread that already holds the
turn through another connection does not wait for it (it would wait for itself): SQLite's
own wait decides, as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

TURN = "ivr_turn"  # a connection's info: its descriptor of the lock file
HOLDER = "ivr_turn_holder"  # a connection's info: the thread holding the turn through it
_turns: dict[int, int] = {}  # thread -> how many of its connections hold the turn
_turns_lock = threading.Lock()


def take_turn(info: dict[str, Any], wait: float) -> None:
    """Take the writers' turn for the connection whose pool info this is, unless it has no
    lock file, holds it already, or its thread holds it through another connection."""
    descriptor = info.get(TURN)
    if descriptor is None or HOLDER in info:
        return
    me = threading.get_ident()
    with _turns_lock:
        if _turns.get(me):
            return
    if not _wait_for(descriptor, wait):
        return  # a writer has held it that long: SQLite's own wait and time-out decide
    info[HOLDER] = me
    with _turns_lock:
        _turns[me] = _turns.get(me, 0) + 1


def _wait_for(descriptor: int, wait: float) -> bool:
    """Take the lock, looking again after 50 us, doubling to 1 ms; False after `wait` s."""
    deadline = time.monotonic() + wait
    pause = 0.00005
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


def give_turn(info: dict[str, Any]) -> None:
    """Give the turn back, if this connection holds it."""
    holder = info.pop(HOLDER, None)
    if holder is None:
        return
    fcntl.flock(info[TURN], fcntl.LOCK_UN)
    with _turns_lock:
        _turns[holder] -= 1
        if not _turns[holder]:
            del _turns[holder]


def lock_file(database: str) -> int | None:
    """This connection's own descriptor of the writers' lock file (each connection its own,
    so two threads of one worker also take turns), or None when it cannot be made."""
    try:
        return os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
