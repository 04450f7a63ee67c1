"""Texts the line sends through Twilio's REST API (the twilio client), with a short timeout."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
TIMEOUT_SECONDS = 4  # a slow API must not hold a webhook near Twilio's 15-second limit
log = logging.getLogger(__name__)


class OutboundError(Exception):
    """A text could not be handed to Twilio."""


def _client(settings: Settings) -> Client:
    """Twilio's REST client, sending to TWILIO_API_BASE instead of api.twilio.com.

    Imported on the first text a worker sends, not at start-up: the REST client and the
    requests stack it brings are about 15 MB that most webhooks never use.
    """
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio has no hints
        def __init__(self, base: str, timeout: float = TIMEOUT_SECONDS):
            super().__init__(timeout=timeout, max_retries=0)
            self.base = base.rstrip("/")

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if url.startswith(TWILIO_API):
                url = self.base + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    http = BaseUrlHttpClient(settings.TWILIO_API_BASE)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)


class Messenger:
    """Sends one text at a time; raises OutboundError on any failure, never logs the number."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._client: Client | None = None

    def _api(self) -> Client:
        if self._client is None:
            self._client = _client(self._settings)
        return self._client

    def send(self, to: str, sender: str, body: str) -> str:
        """Send `body` from our number `sender` to `to`; returns Twilio's message id."""
        if not (self._settings.TWILIO_ACCOUNT_SID and self._settings.TWILIO_AUTH_TOKEN):
            raise OutboundError("no Twilio account configured")
        from twilio.base.exceptions import TwilioException

        try:
            message = self._api().messages.create(to=to, from_=sender, body=body)
        except (TwilioException, OSError) as exc:
            log.warning("text not sent: %s", type(exc).__name__)
            raise OutboundError(type(exc).__name__) from exc
        sid: str = message.sid
        return sid


class PrintingMessenger:
    """A dry run for the terminal simulator: shows what would be texted, sends nothing."""

    def __init__(self, show: Callable[[str], None], staff: str | None = None):
        self._show = show
        self._staff = staff

    def send(self, to: str, sender: str, body: str) -> str:
        """Show `body` and its recipient on the simulator's console; returns a made-up id."""
        whom = f"the staff phone {to}" if to == self._staff else to
        self._show(f"[would text {whom}: {body}]")
        return f"SM{uuid.uuid4().hex}"
