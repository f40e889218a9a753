"""How often something happens: frames read, frames analysed."""

from __future__ import annotations

import threading
from collections import deque


class RateMeter:
    """Events per second over the last `window_s` seconds (0 once nothing happened for that long); thread-safe."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()  # ticked by a worker, read by the heartbeat

    def tick(self, t: float) -> None:
        """Count one event at time t."""
        with self._lock:
            self._times.append(t)
            self._trim(t)

    def rate(self, now: float) -> float:
        """Events per second around `now`."""
        with self._lock:
            self._trim(now)
            if len(self._times) < 2:
                return 0.0
            # At least a second: frames a stream buffered during a hiccup arrive in a burst, not at 100 fps.
            return round((len(self._times) - 1) / max(now - self._times[0], 1.0), 2)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
