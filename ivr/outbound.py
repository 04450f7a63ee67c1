"""What the line asks of Twilio's REST API, with short timeouts: texts (the twilio client), calls
placed for a counselor's call-back (the twilio client), and a voicemail's recording (streamed)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .settings import Settings

if TYPE_CHECKING:
    from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
TIMEOUT_SECONDS = 4  # a slow API must not hold a webhook near Twilio's 15-second limit
log = logging.getLogger(__name__)


RING_SECONDS = 25  # how long a counselor's phone rings before the call-back counts as missed
CHUNK_BYTES = 16 * 1024  # a recording is passed on in pieces this size, never kept whole
RECORDING_HOST = "api.twilio.com"  # the only host a stored recording address may name


class OutboundError(Exception):
    """A text, a call or a recording could not be handed to or fetched from Twilio."""


def rest_client(settings: Settings) -> Client:
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
            self._client = rest_client(self._settings)
        return self._client

    def send(self, to: str, sender: str, body: str, status_callback: str | None = None) -> str:
        """Send `body` from our number `sender` to `to`; returns Twilio's message id.

        With `status_callback`, Twilio posts each change of the message's delivery status
        there (a staff alert: delivered, undelivered, failed).
        """
        if not (self._settings.TWILIO_ACCOUNT_SID and self._settings.TWILIO_AUTH_TOKEN):
            raise OutboundError("no Twilio account configured")
        from twilio.base.exceptions import TwilioException

        options = {"status_callback": status_callback} if status_callback else {}
        try:
            message = self._api().messages.create(to=to, from_=sender, body=body, **options)
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

    def send(self, to: str, sender: str, body: str, status_callback: str | None = None) -> str:
        """Show `body` and its recipient on the simulator's console; returns a made-up id."""
        whom = f"the staff phone {to}" if to == self._staff else to
        self._show(f"[would text {whom}: {body}]")
        return f"SM{uuid.uuid4().hex}"


class Dialer:
    """Places calls through Twilio's REST API; raises OutboundError on any failure."""

    def __init__(self, settings: Settings):
        self._settings = settings

    def ring(self, to: str, sender: str, url: str, status_url: str) -> str:
        """Ring `to` from our number `sender`: Twilio fetches `url` when it is answered and
        posts how the call ended to `status_url`. Returns Twilio's call id.

        Machine detection tells a counselor's own voicemail from the counselor (AnsweredBy).
        """
        settings = self._settings
        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
            raise OutboundError("no Twilio account configured")
        from twilio.base.exceptions import TwilioException

        try:
            call = rest_client(settings).calls.create(
                to=to,
                from_=sender,
                url=url,
                method="POST",
                status_callback=status_url,
                status_callback_method="POST",  # only `completed`, its default event
                machine_detection="Enable",
                timeout=RING_SECONDS,
            )
        except (TwilioException, OSError) as exc:
            log.warning("call not placed: %s", type(exc).__name__)
            raise OutboundError(type(exc).__name__) from exc
        sid: str = call.sid
        return sid


def recording_media_url(stored: str, base: str) -> str | None:
    """Where to fetch a stored recording as MP3: its address on `base`, or None.

    Only an http(s) address on api.twilio.com under an account's recordings is ever
    fetched (a stored address is a webhook's form field: no request forgery through it).
    """
    try:
        parts = urlsplit(stored)
        port = parts.port
    except ValueError:
        return None
    path = parts.path
    if (
        parts.scheme not in ("http", "https")
        or parts.hostname != RECORDING_HOST
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 80, 443)
        or parts.query
        or parts.fragment
        or not path.startswith("/2010-04-01/Accounts/")
        or "/Recordings/" not in path
        or ".." in path
        or "%" in path
        or "\\" in path
    ):
        return None
    for extension in (".json", ".mp3", ".wav"):
        path = path.removesuffix(extension)
    return base.rstrip("/") + path + ".mp3"


def stream_recording(settings: Settings, stored: str) -> Iterator[bytes]:
    """The recording at a stored address, fetched with the account's credentials, in chunks.

    Twilio's answer is read before this returns, so a refusal (an address not on
    api.twilio.com, no account, Twilio's 404) raises OutboundError here, not mid-stream.
    """
    url = recording_media_url(stored, settings.TWILIO_API_BASE)
    if url is None:
        raise OutboundError("not a Twilio recording address")
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise OutboundError("no Twilio account configured")
    import requests

    try:
        response = requests.get(
            url,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            stream=True,
            timeout=(TIMEOUT_SECONDS, 30),
        )
    except requests.RequestException as exc:
        log.warning("recording not fetched: %s", type(exc).__name__)
        raise OutboundError(type(exc).__name__) from exc
    if response.status_code != 200:
        response.close()
        log.warning("recording not fetched: HTTP %d", response.status_code)
        raise OutboundError(f"HTTP {response.status_code}")
    return _chunks(response)


def _chunks(response: Any) -> Iterator[bytes]:
    """A response's body in chunks, closed at the end or when the listener stops."""
    import requests

    try:
        yield from response.iter_content(CHUNK_BYTES)
    except (OSError, requests.RequestException) as exc:  # the connection broke mid-way: end the
        # stream, say why in the log (the listener hears it stop)
        log.warning("recording stream broken: %s", type(exc).__name__)
    finally:
        response.close()
