"""E-mail through an SMTP server (stdlib smtplib): UTF-8 subject and body, the alert's link in the text."""

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from server.notify.message import DEFAULT_TIMEOUT, Clock, DeliveryError, Message, utc_now
from server.notify.transport import failure

SECURITIES = ("starttls", "ssl", "none")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")  # enough to refuse a label or a header injection; the server checks the rest


class EmailChannel:
    """Sends each message as a plain-text e-mail to `message.recipient`."""

    def __init__(self, host: str, port: int, *, sender: str, username: str | None = None,
                 password: str | None = None, security: str = "starttls", timeout: float = DEFAULT_TIMEOUT,
                 ca_file: str | None = None, name: str = "email", clock: Clock = utc_now) -> None:
        if security not in SECURITIES:
            raise ValueError(f"{name}: security must be one of {', '.join(SECURITIES)}, not {security!r}")
        if "@" not in sender:
            raise ValueError(f"{name}: sender must be an e-mail address")
        if (username is None) != (password is None):
            raise ValueError(f"{name}: give both username and password, or neither")
        self.host, self.port, self.sender, self.security, self.timeout = host, port, sender, security, timeout
        self.name, self._username, self._password, self._clock = name, username, password, clock
        self._ca_file = ca_file  # a private CA, for an intranet mail server with its own certificate

    def __repr__(self) -> str:
        return f"EmailChannel({self.name!r}, host={self.host!r}, port={self.port}, security={self.security!r})"

    def send(self, message: Message) -> None:
        """Hand the e-mail to the SMTP server; a refusal or a network failure raises DeliveryError."""
        if not _ADDRESS.fullmatch(message.recipient):
            raise failure(self.name, self.host, "the recipient is not an e-mail address", retry=False)
        email = self.compose(message)
        try:
            with self._connect() as smtp:
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._failure(exc) from exc

    def compose(self, message: Message) -> EmailMessage:
        """The e-mail of a message; the same idempotency key always gives the same Message-ID."""
        email = EmailMessage()
        email["Subject"] = message.title  # non-ASCII becomes an RFC 2047 encoded word
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Date"] = format_datetime(self._clock())
        email["Message-ID"] = message_id(message.idempotency_key, self.sender)
        # RFC 3834: tells vacation responders not to answer an automatic message.
        email["Auto-Submitted"] = "auto-generated"
        email["X-Carewatch-Alert"] = str(message.alert_id)
        email["X-Carewatch-Severity"] = message.severity
        email.set_content(f"{message.text}\n\n{message.link}\n", charset="utf-8")
        return email

    def _connect(self) -> smtplib.SMTP:
        """A connection at the configured security; STARTTLS never falls back to plain text."""
        context = ssl.create_default_context(cafile=self._ca_file)
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                smtp.starttls(context=context)  # raises SMTPNotSupportedError if the server does not offer it
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _failure(self, exc: BaseException) -> DeliveryError:
        """Sort an smtplib or socket error into retry (4xx, network) or not (5xx, TLS, unsupported)."""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            retry = all(400 <= code < 500 for code in codes)
            return failure(self.name, self.host, f"recipient refused ({codes})", retry=retry)
        if isinstance(exc, smtplib.SMTPResponseException):
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            reason = f"SMTP {exc.smtp_code} {text[:200]}"
            return failure(self.name, self.host, reason, retry=400 <= exc.smtp_code < 500)
        if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | ConnectionError):
            return failure(self.name, self.host, f"{type(exc).__name__}: {exc}", retry=True)
        if isinstance(exc, ssl.SSLError | smtplib.SMTPNotSupportedError):  # a certificate, a port, a server: not luck
            return failure(self.name, self.host, f"{type(exc).__name__}: {exc}", retry=False)
        if isinstance(exc, smtplib.SMTPException):  # e.g. no AUTH mechanism in common
            return failure(self.name, self.host, f"{type(exc).__name__}: {exc}", retry=False)
        return failure(self.name, self.host, f"{type(exc).__name__}: {exc}", retry=True)  # other OSError


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID derived from the idempotency key, so that a retried e-mail can be recognised as the same."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<carewatch.{digest}@{sender.rpartition('@')[2]}>"
