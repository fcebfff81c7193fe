"""Alert channels of `server.toml` (`[[alert_channels]]`) and how one message reaches each kind.

    [[alert_channels]]
    name = "ops-and-warehouse"
    kind = "dingtalk"        # dingtalk | wecom | email | webhook
    url = "https://oapi.dingtalk.com/robot/send?access_token=…"
    secret = "SEC…"          # dingtalk: the 加签 secret; webhook: HMAC key of X-PackBench-Signature;
                             # email: the SMTP password
    at_mobiles = ["138…"]    # dingtalk / wecom: who is @-mentioned
    to = ["ops@example.com"] # email: recipients; `url` is smtp://user@host:587 (STARTTLS) or smtps://…:465
    sender = "packbench@example.com"   # email: From (default: the SMTP user)

- dingtalk: custom robot with 加签 — POST JSON to url&timestamp=MS&sign=S (`app.notify.dingtalk_signed_url`),
  `{"msgtype": "markdown", "markdown": {title, text}, "at": {"atMobiles": […]}}`; the mobiles are also
  written in the text, which DingTalk requires for the @ to show. Answer `{"errcode": 0}`.
- wecom: group robot — `{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}`; errcode as above.
- webhook: the alert as JSON, with `X-PackBench-Signature: hex HMAC-SHA256(secret, body)` when a secret is set.
- email: one plain-text mail per alert through smtplib; a report's PDF (`data["attachment"]`) is attached.

A failure raises `NotifyError` with a one-line reason; the caller retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass as settings

from app.i18n import N_, Phrase
from app.notify import NotifyError, dingtalk_signed_url, requests_send
from app.settings_file import SETTINGS, NonBlank, Text, one_of

KINDS = ("dingtalk", "wecom", "email", "webhook")
ATTACHMENT = "attachment"  # a message's data key: the path of a PDF that e-mail attaches (the others link it)
TIMEOUT = 10.0


@settings(frozen=True, config=SETTINGS)
class AlertChannel:
    """One `[[alert_channels]]` table; a wrong one is refused when server.toml is read."""

    name: NonBlank
    kind: Annotated[Text, one_of(KINDS)]
    url: Text
    secret: Text = Field(default="", validate_default=True)
    at_mobiles: tuple[NonBlank, ...] = ()
    to: tuple[NonBlank, ...] = Field(default=(), validate_default=True)
    sender: Text = ""

    @field_validator("url")
    @classmethod
    def _url_of_the_kind(cls, url: str, info: ValidationInfo) -> str:
        wanted = ("smtp", "smtps") if info.data.get("kind") == "email" else ("http", "https")
        url = url.strip()
        if urlsplit(url).scheme not in wanted or not urlsplit(url).hostname:
            raise ValueError(Phrase(N_("an {first} or {second} URL"), {"first": f"{wanted[0]}://",
                                                                       "second": f"{wanted[1]}://"}))
        return url

    @field_validator("secret")
    @classmethod
    def _dingtalk_signs(cls, secret: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "dingtalk" and not secret:
            raise ValueError(Phrase(N_("the robot's 加签 secret (a dingtalk channel needs one)")))
        return secret

    @field_validator("to")
    @classmethod
    def _email_has_recipients(cls, to: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("kind") == "email" and not to:
            raise ValueError(Phrase(N_("a list of recipients (an email channel needs `to`)")))
        return to


def distinct_names(channels: tuple[AlertChannel, ...]) -> tuple[AlertChannel, ...]:
    """Alerts are delivered and counted per channel name: no two channels may share one."""
    names = [channel.name for channel in channels]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise ValueError(Phrase(N_("tables with different names (\"{name}\" is used twice)"), {"name": twice}))
    return channels


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # plain text; for markdown channels it is also valid markdown
    data: dict[str, Any]  # the machine-readable alert, for webhooks
    # The subject as words, kept with the alert so the console words it in each user's language
    # (docs/i18n.md); None: the subject is shown as written.
    words: Phrase | None = None


Post = Callable[[str, dict[str, Any]], None]


def _post_signed(url: str, body: dict[str, Any], secret: str) -> None:
    import requests

    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if secret:
        headers["X-PackBench-Signature"] = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise NotifyError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise NotifyError(f"HTTP {response.status_code}: {response.text[:200]}")


def _email(channel: AlertChannel, message: Message) -> None:
    parts = urlsplit(channel.url)
    user = unquote(parts.username or "")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.sender or user or "packbench@localhost"
    mail["To"] = ", ".join(channel.to)
    mail.set_content(message.text)
    attachment = message.data.get(ATTACHMENT)
    if attachment:  # a report's PDF, read when sent: a file gone since is a failed try, retried
        path = Path(str(attachment))
        try:
            mail.add_attachment(path.read_bytes(), maintype="application", subtype="pdf", filename=path.name)
        except OSError as exc:
            raise NotifyError(f"attachment {path.name} cannot be read: {exc.strerror or exc}") from exc
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname or "", parts.port or 465, timeout=TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(parts.hostname or "", parts.port or 25, timeout=TIMEOUT)
        with smtp:
            if parts.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, channel.secret)
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"{type(exc).__name__}: {exc}") from exc


def send(channel: AlertChannel, message: Message, now_ms: Callable[[], int] | None = None) -> None:
    """Deliver one message to one channel; raises NotifyError with the reason when it did not arrive."""
    mentions = " ".join(f"@{m}" for m in channel.at_mobiles)
    if channel.kind == "dingtalk":
        stamp = now_ms() if now_ms else int(time.time() * 1000)
        text = f"### {message.subject}\n\n{message.text}" + (f"\n\n{mentions}" if mentions else "")
        requests_send(dingtalk_signed_url(channel.url, channel.secret, stamp),
                      {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text},
                       "at": {"atMobiles": list(channel.at_mobiles), "isAtAll": False}}, TIMEOUT)
    elif channel.kind == "wecom":
        requests_send(channel.url, {"msgtype": "text", "text": {
            "content": f"{message.subject}\n{message.text}", "mentioned_mobile_list": list(channel.at_mobiles)}},
            TIMEOUT)
    elif channel.kind == "webhook":
        _post_signed(channel.url, {"subject": message.subject, "text": message.text,
                                   **{k: v for k, v in message.data.items() if k != ATTACHMENT}}, channel.secret)
    else:
        _email(channel, message)
