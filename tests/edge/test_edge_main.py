"""`python -m edge` as an operator runs it: starts, forwards, stops cleanly on SIGTERM; bad config exits 2."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices import topics
from devices.loader import load_facility
from devices.mqtt import parse_url
from tests.edge.edge_support import Collector, Device, envelopes, forget_site
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def edge(*args: str) -> subprocess.Popen[str]:
    """Start `python -m edge` from the project root."""
    return subprocess.Popen([sys.executable, "-m", "edge", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes to kill if a test leaves them running."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.mqtt
def test_runs_until_sigterm_then_says_offline(unique_site_file: Path, broker: Any, tmp_path: Path,
                                              stopper: list[subprocess.Popen[str]]) -> None:
    site = load_facility(unique_site_file).site()
    status, obs = topics.edge_status(site.id), topics.observation(site.id, "bed-b103-1")
    watcher = Collector(broker.url, [status, obs], protocol=broker.protocol).start()
    device = Device(broker.url, protocol=broker.protocol)
    try:
        proc = edge("--config", str(unique_site_file), "--broker-url", broker.url,
                    "--mqtt-protocol", broker.protocol, "--state-dir", str(tmp_path / "state"))
        stopper.append(proc)
        wait_until(lambda: [m.payload for m in watcher.on(status)][-1:] == [b"online"], timeout=10,
                   what="edge online")
        bed = site.device_by_id["bed-b103-1"].topic or ""

        def forwarded() -> bool:
            # We cannot see when the process has subscribed to the devices: publish until it has.
            device.publish(bed, b'{"occupied": true}')
            return bool(envelopes(watcher.on(obs)))

        wait_until(forwarded, timeout=10, what="an envelope")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert [m.payload for m in watcher.on(status)][-1] == b"offline"
        assert (tmp_path / "state" / "outbox.db").exists()
    finally:
        device.stop()
        watcher.stop()
        forget_site(site.id, parse_url(broker.url), parse_url(broker.url), broker.protocol)


def test_a_bad_facility_file_exits_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "facility.yaml"
    bad.write_text("version: 1\nsites:\n  - id: x\n    nmae: oops\n", encoding="utf-8")
    proc = edge("--config", str(bad), "--broker-url", "mqtt://127.0.0.1:1", "--state-dir", str(tmp_path))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "line 4" in err and "nmae" in err and "Traceback" not in err


def test_an_unknown_site_exits_with_status_2(tmp_path: Path) -> None:
    proc = edge("--config", "config/facility.yaml", "--site", "nowhere", "--state-dir", str(tmp_path / "s"))
    _, err = proc.communicate(timeout=20)
    assert (proc.returncode, "no site 'nowhere'" in err) == (2, True), err


def test_help_lists_the_flags() -> None:
    out = subprocess.run([sys.executable, "-m", "edge", "--help"], cwd=ROOT, text=True, capture_output=True,
                         env={**os.environ, "COLUMNS": "200"}, timeout=20, check=True).stdout
    for flag in ("--config", "--site", "--broker-url", "--uplink-url", "--mqtt-protocol", "--state-dir",
                 "--profile"):
        assert flag in out
