"""Outbound texts through the twilio client: the base address, credentials, and failures."""

from __future__ import annotations

import pytest
from twilio.http.http_client import TwilioHttpClient

from ivr.outbound import Messenger, OutboundError, rest_client
from ivr.settings import load_settings

ACCOUNT = "AC" + "a" * 32


def test_the_base_address_replaces_twilios(monkeypatch):
    sent = []
    monkeypatch.setattr(
        TwilioHttpClient,
        "request",
        lambda self, method, url, *args, **kwargs: sent.append((method, url)),
    )
    settings = load_settings({"TWILIO_API_BASE": "http://127.0.0.1:4010/"})
    rest_client(settings).http_client.request(
        "POST", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    )
    assert sent == [("POST", "http://127.0.0.1:4010/2010-04-01/Accounts/AC1/Messages.json")]


def test_no_account_no_text():
    with pytest.raises(OutboundError, match="no Twilio account configured"):
        Messenger(load_settings({})).send("+12035550123", "+12032450412", "hi")


def test_a_text_reaches_prism_and_returns_its_sid(prism):
    messenger = Messenger(
        load_settings(
            {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "t", "TWILIO_API_BASE": prism.base}
        )
    )
    mark = prism.mark()
    assert messenger.send("+12035550123", "+12032450412", "Hola, señal").startswith("SM")
    [seen] = prism.requests(mark)
    assert seen.valid and seen.form == {
        "To": "+12035550123",
        "From": "+12032450412",
        "Body": "Hola, señal",
    }


def test_an_unreachable_api_is_an_outbound_error(caplog):
    messenger = Messenger(
        load_settings(
            {
                "TWILIO_ACCOUNT_SID": ACCOUNT,
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_API_BASE": "http://127.0.0.1:9",
            }
        )
    )
    with pytest.raises(OutboundError):
        messenger.send("+12035550123", "+12032450412", "hi")
    assert "5550123" not in caplog.text
