"""`carewatch demo` as a user runs it: it serves the screen, and a stop signal stops every part it started."""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from carewatch.broker import free_port, port_open, wait_for_port
from tests.conftest import ROOT


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_stops_the_demo_and_its_broker(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "carewatch.cli", "demo", "--port", str(port), "--data-dir",
                             str(tmp_path / "demo"), "--config", str(ROOT / "config" / "facility.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        demo.send_signal(stop)
        output, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert "carewatch demo stopped." in output
    broker = re.search(r"broker: \S+(?: amqtt)? on 127\.0\.0\.1:(\d+)", output)
    assert broker is not None, output
    assert not port_open("127.0.0.1", int(broker[1]))  # the demo's own broker went with it
    assert not port_open("127.0.0.1", port)
