import base64
import json
import socket
import threading
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pro_app.config import DEFAULTS
from pro_app.notify.senders import (
    ChannelSender,
    FileSender,
    HttpSmsSender,
    Message,
    SendError,
    SmtpSender,
    senders_from_config,
)

SMS = Message("sms", "+972500000000", "subject", 'A "quoted" text\nhttps://x/p/t')
MAIL = Message("email", "a@example.org", "Hello", "plain body", "<p>html body</p>")


@pytest.fixture
def provider():
    received, status = [], [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("Authorization"), json.loads(body)))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", received, status
    server.shutdown()
    server.server_close()


def test_http_sms_fills_the_payload_template_safely(provider):
    url, received, _ = provider
    sender = HttpSmsSender(
        url,
        payload_template=(
            '{"msg": {"to": ["{to}"], "text": "{body}", "from": "{sender}"}}'
        ),
        username="acct",
        password="secret",
        sender_id="STUDY",
    )
    sender.send(SMS)
    ((auth, payload),) = received
    assert auth == "Basic " + base64.b64encode(b"acct:secret").decode()
    assert payload == {
        "msg": {"to": ["+972500000000"], "text": SMS.text, "from": "STUDY"}
    }


def test_http_sms_error_keeps_no_personal_data(provider):
    url, _, status = provider
    status[0] = 503
    with pytest.raises(SendError) as caught:
        HttpSmsSender(url).send(SMS)
    assert str(caught.value) == "sms http 503"


def test_smtp_unreachable_is_a_send_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendError) as caught:
        SmtpSender("127.0.0.1", port, timeout=2).send(MAIL)
    assert "example.org" not in str(caught.value)


def test_file_sender_writes_email_and_sms(tmp_path):
    sender = FileSender(tmp_path / "outbox", "study@example.org")
    sender.send(MAIL)
    sender.send(SMS)
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=default)
    assert mail["To"] == "a@example.org"
    assert mail.get_body(("plain",)).get_content().strip() == "plain body"
    assert "<p>html body</p>" in mail.get_body(("html",)).get_content()
    (txt,) = (tmp_path / "outbox").glob("*.txt")
    assert "https://x/p/t" in txt.read_text()


def test_channels_from_config(tmp_path):
    config = dict(DEFAULTS, NOTIFY_SMS_BACKEND="none")
    sender = senders_from_config(config, str(tmp_path))
    assert sender.channels == ("email",)
    with pytest.raises(SendError):
        sender.send(SMS)
    config.update(
        NOTIFY_EMAIL_BACKEND="smtp", NOTIFY_SMS_BACKEND="http", SMS_HTTP_URL="http://h"
    )
    sender = senders_from_config(config, str(tmp_path))
    assert isinstance(sender.by_channel["email"], SmtpSender)
    assert isinstance(sender.by_channel["sms"], HttpSmsSender)
    assert "secret" not in repr(
        ChannelSender({"x": SmtpSender("h", password="secret")})
    )
