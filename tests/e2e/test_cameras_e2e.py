"""Cameras end to end on real parts, as the demo runs them: simulated cameras served as HTTP MJPEG → the edge
reads and judges them with OpenCV → broker → server → alerts, coverage and snapshots in the API."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carewatch.demo import with_sim_cameras
from devices.facility import Facility
from devices.loader import load_facility
from devices.sim.cameras.server import MjpegServer
from devices.sim.cameras.tour import CameraTour, site_cameras
from tests.conftest import Broker
from tests.helpers import LiveServer, live_server, server_settings, wait_until

pytestmark = pytest.mark.e2e
SIZE = (320, 180)  # a quarter of the demo's pictures: twelve cameras, an edge and a server share two cores


@pytest.fixture
def cameras(unique_site_file: Path) -> Iterator[MjpegServer]:
    """The site's twelve cameras, simulated and served on 127.0.0.1."""
    site = load_facility(unique_site_file, profile="demo").sites[0]
    server = MjpegServer(site_cameras(site, size=SIZE))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def running(unique_site_file: Path, cameras: MjpegServer, sqlite_url: str, broker: Broker, make_agent: Any,
            tmp_path: Path) -> Iterator[tuple[LiveServer, Facility]]:
    """Server and edge (with cameras) for the demo profile of the reference facility; every camera reported."""
    facility = with_sim_cameras(load_facility(unique_site_file, profile="demo"), cameras)
    settings = server_settings(unique_site_file, sqlite_url, broker, profile="demo")
    with live_server(settings, facility=facility) as live:
        agent = make_agent(facility, facility.sites[0].id, device_broker_url=broker.url, protocol=broker.protocol,
                           state_dir=tmp_path / "edge", cameras=True)
        agent.start()
        wait_until(lambda: camera_view(live)["coverage"]["covered"] == camera_view(live)["coverage"]["zones"], 60,
                   interval=0.5, what="every zone covered by a working camera")
        yield live, facility


def camera_view(live: LiveServer) -> dict[str, Any]:
    """GET /api/v1/cameras for the one site."""
    with live.client() as client:
        [site] = client.get("/api/v1/cameras", params={"lang": "en"}).json()
    return dict(site)


def alerts(live: LiveServer, rule: str) -> list[dict[str, Any]]:
    """The site's alerts of one rule, any status."""
    with live.client() as client:
        return [a for a in client.get("/api/v1/alerts", params={"lang": "en"}).json() if a["rule"] == rule]


def test_a_covered_lens_raises_a_camera_alert_and_drops_coverage_within_30_s(
        running: tuple[LiveServer, Facility], cameras: MjpegServer) -> None:
    live, facility = running
    total = camera_view(live)["coverage"]["zones"]
    time.sleep(5)  # the edge learns each camera's normal picture in its first seconds (learn_s 4 s)
    covered_at = time.monotonic()
    cameras.change("cam-03", {"covered": True})
    [alert] = wait_until(lambda: alerts(live, "camera_health"), 30, interval=0.5, what="camera alert for cam-03")
    view = wait_until(lambda: (v := camera_view(live))["coverage"]["covered"] < total and v, 30, interval=0.5,
                      what="coverage drops")
    [gap] = wait_until(lambda: alerts(live, "coverage"), 30, interval=0.5, what="a zone has no working camera")
    elapsed = time.monotonic() - covered_at
    print(f"lens covered to camera alert, coverage drop and blind-spot alert: {elapsed:.1f} s")
    assert elapsed < 30
    assert (alert["subject"], alert["severity"]) == ("cam-03", "medium")
    assert [c["state"] for c in view["cameras"] if c["id"] == "cam-03"] == ["covered"]
    assert view["coverage"]["uncovered"] == ["z-dayroom-a"] and view["coverage"]["covered"] == total - 1
    assert gap["details"]["zones"] == ["z-dayroom-a"]

    cameras.change("cam-03", {"reset": True})
    wait_until(lambda: camera_view(live)["coverage"]["covered"] == total, 30, interval=0.5, what="coverage back")
    assert wait_until(lambda: alerts(live, "camera_health")[0]["cleared"], 10, interval=0.5, what="cleared")


def test_a_fall_on_the_floor_is_a_critical_alert_with_a_snapshot_within_40_s(
        running: tuple[LiveServer, Facility], cameras: MjpegServer) -> None:
    live, facility = running
    # The demo's tour, told to play nothing by itself: it posts the play's steps as their times come.
    tour = CameraTour(cameras, facility.sites[0], announce=lambda line: None, first_after=3600).start()
    try:
        camera = tour.play("person-down")  # walks in, stands, falls 5.5 s later, lies still
        fell_at = time.monotonic() + 5.5
        [alert] = wait_until(lambda: alerts(live, "person_down"), 60, interval=0.5, what="person down")
        elapsed = time.monotonic() - fell_at
    finally:
        tour.stop()
    print(f"fall to critical person-down alert: {elapsed:.1f} s (the rule waits 20 s of stillness)")
    assert 20 <= elapsed <= 40
    zone = facility.sites[0].device_by_id[camera].view
    assert alert["severity"] == "critical" and alert["subject"] in zone and alert["subject"].endswith("-floor")
    assert alert["details"]["camera"] == camera
    with live.client() as client:
        picture = client.get(f"/api/v1/snapshots/{alert['details']['snapshot']}")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:3] == b"\xff\xd8\xff" and len(picture.content) > 2000
    assert "no-store" in picture.headers["cache-control"]
