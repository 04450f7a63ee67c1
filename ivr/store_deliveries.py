"""Deliveries: each webhook delivery claimed once, with its reply and the text it owes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from .store_base import StoreBase
from .tables import Delivery


class DeliveryStore(StoreBase):
    """Idempotency: a delivery Twilio retries gets the first one's reply."""

    def claim(
        self, key: str, at: datetime, reply: str | None = None, unsent: str | None = None
    ) -> bool:
        """Mark a delivery handled, with its reply and a text it has to send; True the first time.

        A retry (False) changes nothing: it gets the first delivery's reply and text.
        """
        with self.session() as s:
            return self._claim(s, key, at, reply, unsent)

    def take_unsent(self, key: str, at: datetime, stale_before: datetime) -> str | None:
        """The text a delivery still has to send, now this request's to send (see `sent`).

        None when it was sent, when there is none, or when another request is sending it
        (unless that one began before `stale_before`: its worker died). The row is locked
        while it is read, so two requests can never both take it.
        """
        with self.session() as s:
            row = s.get(Delivery, key[:120], with_for_update=True)
            if row is None or row.unsent is None:
                return None
            if row.sending_since is not None and row.sending_since >= stale_before:
                return None
            row.sending_since = at
            return row.unsent

    def sent(self, key: str, ok: bool) -> None:
        """Note how sending a delivery's text went: sent, or failed (to be tried again)."""
        values = {"unsent": None, "sending_since": None} if ok else {"sending_since": None}
        with self.session() as s:
            s.execute(update(Delivery).where(Delivery.key == key[:120]).values(**values))

    def sending(self, key: str) -> str | None:
        """Where a delivery's text is: sent, sending or failed; None for no such delivery."""
        with self.session(reading=True) as s:
            row = s.get(Delivery, key[:120])
        if row is None:
            return None
        if row.unsent is None:
            return "sent"
        return "failed" if row.sending_since is None else "sending"

    def seen(self, key: str) -> bool:
        """True when a delivery with this key was claimed."""
        with self.session(reading=True) as s:
            return s.get(Delivery, key[:120]) is not None

    def reply_for(self, key: str) -> str | None:
        """The reply stored for a delivery, if any."""
        with self.session(reading=True) as s:
            row = s.get(Delivery, key[:120])
            return row.reply if row else None
