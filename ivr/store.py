"""What the line remembers, on SQLite or PostgreSQL: the Store, the only thing that writes SQL.

Assembled here from one part per concern (ivr/store_*.py) over ivr/store_base.py;
everything is imported from here.
"""

from __future__ import annotations

import threading

from .engine import READING, at_once, engine_for, light
from .eventlog import Later
from .store_base import ENTRY as ENTRY
from .store_base import Note, StoreError
from .store_callbacks import CallBackStore, Leg
from .store_callbacks import Placed as Placed
from .store_deliveries import DeliveryStore
from .store_events import EventStore, Purged
from .store_line import LineStore
from .store_line import RecalledCall as RecalledCall
from .store_queue import QueueStore
from .store_staff import StaffStore
from .store_texts import Keep as Keep
from .store_texts import Recalled, TextStore
from .tables import Alert, AuditEntry, Base, CallBack, Event, Request, StaffAccount
from .tables import Delivery as Delivery
from .tables import LineState as LineState
from .tables import OptOut as OptOut

__all__ = [
    "Alert",
    "AuditEntry",
    "Base",
    "CallBack",
    "Event",
    "Leg",
    "Note",
    "Purged",
    "Recalled",
    "Request",
    "StaffAccount",
    "Store",
    "StoreError",
    "engine_for",
]


class Store(QueueStore, DeliveryStore, TextStore, LineStore, StaffStore, CallBackStore, EventStore):
    """The line's memory. Every method raises StoreError when the database fails."""

    def __init__(self, url: str, secret: str):
        self.engine = engine_for(url)
        self._reader = self.engine.execution_options(**{READING: True})  # same pool
        self._light = light(self.engine)  # same pool on SQLite, its own on PostgreSQL
        self._autocommit_reads = self.engine.dialect.name == "postgresql"  # see _read
        self._at_once = at_once(self.engine)  # same pool; None on SQLite
        self._secret = secret
        self._lock = threading.Lock()
        self._failed_writes = 0
        self.later: Later[Note] = Later(self._write_later)  # analytics written after answers
