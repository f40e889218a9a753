"""Simulated cameras served as HTTP MJPEG on 127.0.0.1, the way cheap IP cameras serve them.

Public API:
    MjpegServer(cameras: dict[str, SimCamera], host="127.0.0.1", port=0, *, clock=time.monotonic, quality=80)
        starts serving at once in its own threads; loopback addresses only (ValueError otherwise).
        .url(cam_id) -> "http://127.0.0.1:PORT/cam/ID.mjpg"   .jpg_url(cam_id)   .condition_url(cam_id)
        .port, .now() -> camera time (seconds since the server started, by `clock`)
        .change(cam_id, body) -> dict      the same as POST /cam/<id>/condition, in process
        .close()                           stops serving, drops open streams and frees the port (also on `with`)
    GET  /cam/<id>.mjpg         multipart/x-mixed-replace; boundary=frame, one JPEG part per frame at the camera's
                                fps (by `clock`); while the camera is dropped: 503, and open streams are closed
    GET  /cam/<id>.jpg          the current frame
    POST /cam/<id>/condition    JSON, e.g. {"covered": true}, {"lights": "infrared"}, {"defocus": 6},
                                {"turned": 25}, {"frozen": true}, {"dropped": true}, {"pose": "fall"}, {"reset": true}
                                -> 200 with the camera's state, 400 {"error": ...} naming what is wrong, 404 unknown id
A feeder thread encodes every camera's frames a segment ahead (codec + JPEG once per camera, not per client); each
client has its own thread and socket timeout and is sent the newest ready frame, so a slow client only loses its
own frames, and an overloaded machine lowers the frame rate instead of stalling the stream.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devices.sim.cameras.stream import SimCamera

log = logging.getLogger(__name__)
BOUNDARY = "frame"
MAX_BODY = 64 * 1024
_STREAM = re.compile(r"^/cam/([A-Za-z0-9_.-]+?)\.(mjpg|jpg)$")
_CONDITION = re.compile(r"^/cam/([A-Za-z0-9_.-]+)/condition$")


class MjpegServer:
    """An HTTP server for simulated cameras, running in a background thread."""

    def __init__(self, cameras: dict[str, SimCamera], host: str = "127.0.0.1", port: int = 0, *,
                 clock: Callable[[], float] = time.monotonic, quality: int = 80, send_timeout: float = 10.0) -> None:
        self.host = _loopback(host)
        self.cameras = dict(cameras)
        self.clock = clock
        self.quality = quality
        self.stopping = threading.Event()
        self._start = clock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._conns_lock = threading.Lock()
        self._httpd = _Httpd((self.host, port), _Handler, self, send_timeout)
        self.port = self._httpd.server_address[1]
        self._feed()  # frames ready before the first client asks (see _feeder)
        self._threads = [threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                          name=f"mjpeg-{self.port}", daemon=True),
                         threading.Thread(target=self._feeder, name=f"mjpeg-feed-{self.port}", daemon=True)]
        for thread in self._threads:
            thread.start()

    def now(self) -> float:
        """Camera time: seconds since the server started, by its clock."""
        return self.clock() - self._start

    def url(self, cam_id: str) -> str:
        """The camera's MJPEG stream URL."""
        return f"http://{self.host}:{self.port}/cam/{cam_id}.mjpg"

    def jpg_url(self, cam_id: str) -> str:
        """The camera's single-frame URL."""
        return f"http://{self.host}:{self.port}/cam/{cam_id}.jpg"

    def condition_url(self, cam_id: str) -> str:
        """Where to POST live changes for the camera."""
        return f"http://{self.host}:{self.port}/cam/{cam_id}/condition"

    def change(self, cam_id: str, body: Any) -> dict[str, Any]:
        """Apply a live change now (KeyError for an unknown camera, ValueError for a bad change)."""
        return self.cameras[cam_id].change(body, self.now())

    def close(self) -> None:
        """Stop serving: end open streams, close the listening socket, wait for the threads."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._httpd.shutdown()
        with self._conns_lock:
            conns = dict(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # unblocks a handler stuck sending to a slow client
        self._httpd.server_close()
        for thread in [*conns.values(), *self._threads]:
            thread.join(timeout=5.0)

    stop = close  # the demo stops each of its parts with `stop()`

    def _feed(self) -> None:
        """Encode every camera's frames from now to a segment and a bit ahead."""
        for cam_id, camera in self.cameras.items():
            now = self.now()
            try:
                camera.prepare(now, now + camera.segment_frames / camera.fps + 1.0, self.quality)
            except Exception:  # one broken camera must not stop the others' feed
                if not self.stopping.is_set():
                    log.exception("simulated camera %s failed to produce frames", cam_id)

    def _feeder(self) -> None:
        """Keep each camera's JPEGs a segment ahead of its viewers; viewers only ever send what is ready. Why:
        OpenCV holds one process-wide lock while a cv2.VideoCapture opens an FFmpeg stream, and the open waits for
        our first frames; a viewer in the same process (the demo's edge) would deadlock with a handler that had to
        run the codec (cv2.VideoWriter/VideoCapture) to answer it."""
        while not self.stopping.wait(0.1):
            self._feed()

    def __enter__(self) -> MjpegServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _track(self, conn: socket.socket, on: bool) -> None:
        """Remember open client connections so close() can end them."""
        with self._conns_lock:
            if on:
                self._conns[conn] = threading.current_thread()
            else:
                self._conns.pop(conn, None)


def _loopback(host: str) -> str:
    """The host if it is an IPv4 loopback address ("localhost" means 127.0.0.1); ValueError otherwise."""
    host = "127.0.0.1" if host == "localhost" else host
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback IPv4 address such as 127.0.0.1, not {host!r}") from None
    if addr.version != 4 or not addr.is_loopback:
        raise ValueError(f"the simulated cameras listen on loopback only (127.0.0.0/8), not on {host}")
    return host


class _Httpd(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its MjpegServer."""

    daemon_threads = True  # close() ends and joins the handlers itself

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A viewer that hangs up or stops reading is normal for a stream: no traceback for it."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], handler: type, owner: MjpegServer, send_timeout: float) -> None:
        self.owner = owner
        self.send_timeout = send_timeout
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    """One client connection."""

    server: _Httpd
    server_version = "carewatch-simcam/1"

    def setup(self) -> None:
        self.timeout = self.server.send_timeout  # a client that stops reading times out alone
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: a stream per camera would flood the log."""

    def do_GET(self) -> None:
        match = _STREAM.match(self.path.split("?", 1)[0])
        camera = self._camera(match.group(1) if match else None)
        if camera is None:
            return
        if match.group(2) == "jpg":
            jpeg = self._ready(camera)
            if jpeg is not None:
                self._send(200, "image/jpeg", jpeg)
            return
        self._stream(camera)

    def do_POST(self) -> None:
        match = _CONDITION.match(self.path.split("?", 1)[0])
        camera = self._camera(match.group(1) if match else None)
        if camera is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._json(400, {"error": f"send a JSON object of at most {MAX_BODY} bytes with a Content-Length"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._json(400, {"error": f"the body is not JSON: {exc}"})
            return
        try:
            state = self.server.owner.change(match.group(1), body)
        except ValueError as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, state)

    def _camera(self, cam_id: str | None) -> SimCamera | None:
        """The camera named in the path, or None after answering 404."""
        cameras = self.server.owner.cameras
        if cam_id is None or cam_id not in cameras:
            what = f"no camera {cam_id!r}" if cam_id else f"no such path {self.path!r}"
            self._json(404, {"error": f"{what}; cameras: {', '.join(sorted(cameras))}"})
            return None
        return cameras[cam_id]

    def _stream(self, camera: SimCamera) -> None:
        """Send each new frame the feeder has ready, at the camera's pace, until dropped or closed."""
        owner = self.server.owner
        if self._ready(camera) is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache, no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        last = -1
        while not owner.stopping.is_set():
            t = owner.now()
            entry = camera.cached_jpeg(t, owner.quality)
            if entry is not None and entry[0] != last:
                index, jpeg = entry
                if jpeg is None:
                    return  # dropped: the connection ends, as a camera that goes away does
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                try:
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                except OSError:
                    return  # the client left (or was too slow)
                last = index
            due = (camera.index(t) + 1) / camera.fps - t
            owner.stopping.wait(min(max(due, 0.002), 0.05))

    def _ready(self, camera: SimCamera) -> bytes | None:
        """The camera's newest ready JPEG, or None after answering 503 (dropped, or nothing encoded yet)."""
        owner = self.server.owner
        deadline = time.monotonic() + 10.0
        entry = camera.cached_jpeg(owner.now(), owner.quality)
        while entry is None and time.monotonic() < deadline and not owner.stopping.wait(0.05):
            entry = camera.cached_jpeg(owner.now(), owner.quality)  # the feeder is still warming up
        if entry is None or entry[1] is None:
            self._json(503, {"error": "the camera stream is dropped" if entry else "no frame ready yet"})
            return None
        return entry[1]

    def _json(self, status: int, body: dict[str, Any]) -> None:
        """Answer with a JSON body."""
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        """Answer with a body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store")
        self.end_headers()
        self.wfile.write(data)
