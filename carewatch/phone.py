"""The demo's pretend phone: a webhook receiver on this machine that prints every notification it gets, so a
newcomer sees escalation reach a person (and stop when the link's button is pressed)."""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devices.facility import Facility

CHANNEL = "demo-phone"


class Phone:
    """An HTTP server on 127.0.0.1 that prints what it receives."""

    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(16)
        self.received: list[dict[str, Any]] = []
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.end_headers()
                phone.ring(json.loads(body or b"{}"))

            def log_message(self, *args: Any) -> None:
                """Quiet: the ring is the log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/phone"

    def start(self) -> "Phone":
        """Listen in a thread."""
        threading.Thread(target=self.server.serve_forever, name="carewatch-demo-phone", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()

    def ring(self, message: dict[str, Any]) -> None:
        """Keep and print one notification."""
        self.received.append(message)
        print(f"  [phone] {message.get('title', '?')}\n          acknowledge: {message.get('link', '?')}", flush=True)


def with_phone(facility: Facility, phone: Phone) -> Facility:
    """The facility with the phone as a channel of every escalation step of every site."""
    data = facility.model_dump(by_alias=True, mode="json")
    for site in data["sites"]:
        site["channels"] = {**site["channels"], CHANNEL: {"type": "webhook", "url": phone.url,
                                                          "secret": phone.secret}}
        for policy in site["escalation"].values():
            for step in (policy or {}).get("steps", []):
                step["channels"] = [*step["channels"], CHANNEL]
    return Facility.model_validate(data)
