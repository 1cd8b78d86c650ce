"""Ways out: SMTP, an HTTP SMS provider, and files for the demo.

A sender takes a finished :class:`Message` and either delivers it or raises
:class:`SendError`. Error texts carry the failure's kind, never the address or
the message, because they end up in ``outbox.last_error``.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One rendered message. ``to`` is an email address or a phone number."""

    channel: str
    to: str = field(repr=False)
    subject: str
    text: str = field(repr=False)
    html: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


class SendError(Exception):
    """Delivery failed; the text is safe to store (no address, no content)."""


class Sender(Protocol):
    """Anything that can deliver a message."""

    def send(self, message: Message) -> None: ...


def to_email(message: Message, from_addr: str) -> EmailMessage:
    """Build a multipart text + HTML email."""
    mail = EmailMessage()
    mail["From"] = from_addr
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=from_addr.rpartition("@")[2] or None)
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    return mail


@dataclass
class SmtpSender:
    """Email through an SMTP server, optionally upgraded with STARTTLS."""

    host: str
    port: int = 25
    from_addr: str = "pro-app@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 30.0

    def send(self, message: Message) -> None:
        mail = to_email(message, self.from_addr)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as error:
            raise SendError(f"smtp {error.smtp_code}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise SendError(f"smtp {type(error).__name__}") from error


@dataclass
class FileSender:
    """Write each message to a file (``instance/outbox/``): the demo's backend."""

    directory: Path
    from_addr: str = "pro-app@localhost"

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{message.channel}-{uuid.uuid4().hex}"
        if message.channel == "email":
            data = bytes(to_email(message, self.from_addr))
            (self.directory / f"{name}.eml").write_bytes(data)
        else:
            body = f"To: {message.to}\n\n{message.text}\n"
            (self.directory / f"{name}.txt").write_text(body, encoding="utf-8")


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    # Substitute inside the parsed JSON, so a quote in a message cannot break
    # (or inject into) the provider's payload.
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    return template


@dataclass
class HttpSmsSender:
    """SMS through a provider's HTTP API: POST a JSON payload built from a template.

    ``payload_template`` is JSON with ``{to}``, ``{body}`` and ``{sender}``
    placeholders, e.g. ``{"to": "{to}", "text": "{body}"}``.
    """

    url: str
    payload_template: str = '{"to": "{to}", "text": "{body}"}'
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender_id: str = ""
    timeout: float = 30.0

    def send(self, message: Message) -> None:
        payload = _fill(
            json.loads(self.payload_template),
            {"to": message.to, "body": message.text, "sender": self.sender_id},
        )
        request = urllib.request.Request(  # noqa: S310 (URL comes from config)
            self.url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        if self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            request.add_header(
                "Authorization", f"Basic {base64.b64encode(pair).decode()}"
            )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as error:
            error.close()  # it holds the provider's response open
            raise SendError(f"sms http {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SendError(f"sms {type(error).__name__}") from error


@dataclass
class ChannelSender:
    """Route each message to the sender of its channel."""

    by_channel: dict[str, Sender]

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that have a sender."""
        return tuple(self.by_channel)

    def send(self, message: Message) -> None:
        sender = self.by_channel.get(message.channel)
        if sender is None:
            raise SendError(f"no sender for channel {message.channel}")
        sender.send(message)


def senders_from_config(config: Mapping[str, Any], instance_path: str) -> ChannelSender:
    """Build the email and SMS senders named by ``NOTIFY_EMAIL_BACKEND`` and
    ``NOTIFY_SMS_BACKEND`` (``smtp``/``file``, ``http``/``file``/``none``)."""
    outbox_dir = Path(instance_path) / "outbox"
    from_addr = config["SMTP_FROM"]
    by_channel: dict[str, Sender] = {}
    email = config["NOTIFY_EMAIL_BACKEND"]
    if email == "smtp":
        by_channel["email"] = SmtpSender(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            from_addr=from_addr,
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            starttls=bool(config["SMTP_STARTTLS"]),
        )
    elif email == "file":
        by_channel["email"] = FileSender(outbox_dir, from_addr)
    sms = config["NOTIFY_SMS_BACKEND"]
    if sms == "http":
        by_channel["sms"] = HttpSmsSender(
            url=config["SMS_HTTP_URL"],
            payload_template=config["SMS_HTTP_PAYLOAD"],
            username=config["SMS_HTTP_USERNAME"],
            password=config["SMS_HTTP_PASSWORD"],
            sender_id=config["SMS_SENDER_ID"],
        )
    elif sms == "file":
        by_channel["sms"] = FileSender(outbox_dir, from_addr)
    return ChannelSender(by_channel)
