"""Every MQTT topic carewatch uses between edge and server, in one place."""

PREFIX = "carewatch/v1"


def observation(site: str, device: str) -> str:
    """Topic an edge publishes one device's observations to."""
    return f"{PREFIX}/{site}/obs/{device}"


def edge_status(site: str) -> str:
    """Retained `online`/`offline` of a site's edge (its Last Will)."""
    return f"{PREFIX}/{site}/edge/status"


def edge_heartbeat(site: str) -> str:
    """Periodic JSON heartbeat of a site's edge, with its counters."""
    return f"{PREFIX}/{site}/edge/heartbeat"


OBSERVATIONS_ALL = f"{PREFIX}/+/obs/+"
EDGE_ALL = f"{PREFIX}/+/edge/+"


def shared(group: str, topic: str) -> str:
    """MQTT 5 shared subscription so several servers split the load."""
    return f"$share/{group}/{topic}"


def parse(topic: str) -> tuple[str, str, str] | None:
    """Split an uplink topic into (site, channel, name); None if it is not one of ours."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        return None
    site, channel, name = parts[2], parts[3], parts[4]
    if channel not in ("obs", "edge") or not site or not name:
        return None
    return site, channel, name
