"""The demo's camera tour: each play on a camera that fits it, step by step on the server's clock."""

import pytest

from devices.facility import Facility
from devices.sim.cameras.server import MjpegServer
from devices.sim.cameras.tour import PLAYS, CameraTour, site_cameras

SIZE = (160, 90)


def test_a_simulated_camera_for_every_camera_each_room_its_own(reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    cameras = site_cameras(site, size=SIZE)
    assert sorted(cameras) == sorted(cam.id for cam in site.cameras_of())
    first, second = cameras["cam-01"].frame_at(0.0), cameras["cam-02"].frame_at(0.0)
    assert first is not None and second is not None and first.shape == (90, 160, 3)
    assert (first != second).any()  # another seed, another room


def test_a_fall_plays_on_a_floor_camera_step_by_step_and_the_room_is_empty_again(
        reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    now = [100.0]
    lines: list[str] = []
    with MjpegServer(site_cameras(site, size=SIZE), clock=lambda: now[0]) as server:
        tour = CameraTour(server, site, announce=lines.append)
        camera = tour.play("person-down")
        floors = {c.id for c in site.cameras_of() if any(z.endswith("-floor") for z in c.sees)}
        assert camera in floors and lines == [f"camera scenario person-down on {camera}: {PLAYS['person-down'].en}"]

        def pose() -> str:
            return server.cameras[camera].state_at(server.now())[0].pose

        assert pose() == "walking"
        now[0] += 3.0
        tour.post_due(server.now())
        assert pose() == "standing"
        now[0] += 3.0
        tour.post_due(server.now())
        assert pose() in ("falling", "lying")
        # The camera is busy with its play: the next fall goes to another floor camera.
        other = tour.play("person-down")
        assert other in floors and other != camera
        now[0] += 80.0
        tour.post_due(server.now())
        assert pose() == "absent"


def test_a_play_no_camera_fits_is_refused(reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    only_corridor = site.model_copy(update={"devices": [d for d in site.devices if d.id == "cam-01"]})
    with MjpegServer(site_cameras(only_corridor, size=SIZE)) as server:
        tour = CameraTour(server, only_corridor, announce=lambda line: None)
        with pytest.raises(LookupError, match="floor"):
            tour.play("person-down")  # a fall needs a camera that sees a floor zone
        assert tour.play("night-walk") == "cam-01"
