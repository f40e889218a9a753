"""Rule timers on a running server fire within 1 s of their due time; the clock is injected, never slept on."""

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from devices import topics
from devices.loader import load_facility
from devices.messages import Envelope, Reading, new_id, to_json
from tests.conftest import ROOT, Broker
from tests.helpers import live_server, publisher, server_settings, wait_until


class ShiftedClock:
    """Real time moved to 23:00 at the site (a night), which the test can jump forward."""

    def __init__(self) -> None:
        night = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=23, minute=0, second=0, microsecond=0)
        self._offset = night.astimezone(UTC) - datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def jump(self, by: timedelta) -> None:
        with self._lock:
            self._offset += by


def test_bed_exit_timer_fires_within_1_s_of_due(unique_site_file: Path, sqlite_url: str, broker: Broker) -> None:
    clock = ShiftedClock()
    site = load_facility(unique_site_file).sites[0].id
    client = publisher(broker)

    def bed(seq: int, occupied: bool) -> None:
        env = Envelope(id=new_id(), site=site, device="bed-b101-1", kind="bed_sensor", at=clock(), seq=seq,
                       data=Reading(occupied=occupied))
        client.publish(topics.observation(site, "bed-b101-1"), to_json(env), qos=1).wait_for_publish(5)

    try:
        with live_server(server_settings(unique_site_file, sqlite_url, broker), clock=clock) as live:
            bed(1, True)
            bed(2, False)
            key = (site, "bed_exit_night", "b101-1")
            # Other rules keep timers too (the wake-up check at 09:30): wait for this one.
            due = wait_until(lambda: live.ctx.pipeline.engine.dues.get(key), 5, what="confirmation timer set")
            assert due == live.ctx.pipeline.next_due()
            clock.jump(due - clock())  # it is now exactly the due time
            jumped = time.monotonic()
            with live.client() as http:
                alert = wait_until(lambda: http.get("/api/v1/alerts").json(), 2, interval=0.02,
                                   what="bed exit alert")[0]
            latency = time.monotonic() - jumped
    finally:
        client.disconnect()
        client.loop_stop()
    assert alert["rule"] == "bed_exit_night", alert
    print(f"bed-exit timer fired {latency * 1000:.0f} ms after its due time")
    assert latency < 1.0, f"timer fired {latency:.2f} s after its due time"


def test_broken_facility_file_exits_non_zero_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "facility.yaml"
    text = (ROOT / "config" / "facility.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("out_of_bed_max: 45m", "out_of_bed_max: 45 minutes"), encoding="utf-8")
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if "45 minutes" in row)
    for command in (["server"], ["demo", "--data-dir", str(tmp_path / "demo")], ["edge"], ["sim"], ["check"]):
        result = subprocess.run([sys.executable, "-m", "carewatch.cli", *command, "--config", str(bad)],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert f"line {line}: sites[0].thresholds.out_of_bed_max: '45 minutes' is not a duration" in result.stderr
    assert not (tmp_path / "demo").exists() and not (tmp_path / "carewatch.db").exists()
