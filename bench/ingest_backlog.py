"""The benchmark's backlog: observations of the reference facility's devices, as an edge publishes them."""

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from devices import topics
from devices.facility import Device, Site
from devices.kinds import DeviceKind, TemperatureRole
from devices.messages import Envelope, Reading, new_id, to_json, utcnow

SEED = 20260501  # the same mix of devices and readings on every run (ids and times are fresh)

# How often each kind reports, relative to a door contact: mats, plugs and cabinets chatter, buttons barely.
WEIGHTS = {DeviceKind.BED_SENSOR: 3, DeviceKind.POWER_PLUG: 3, DeviceKind.TEMPERATURE_SENSOR: 2,
           DeviceKind.PRESENCE_SENSOR: 2, DeviceKind.DOOR_CONTACT: 1, DeviceKind.LEAK_SENSOR: 1,
           DeviceKind.SMOKE_DETECTOR: 1, DeviceKind.SOS_BUTTON: 1}


def reading(device: Device, rng: random.Random, energy: Counter[str]) -> Reading:
    """A normal-operation reading (no alarm): the steady load of a quiet day, rules evaluated on each."""
    battery = round(rng.uniform(60, 100), 1)
    kind = device.kind
    if kind is DeviceKind.BED_SENSOR:
        fields: dict[str, Any] = {"occupied": True, "movement": rng.random() < 0.2, "battery_pct": battery}
        if device.protocol == "native":  # the smart mat also reports vitals
            fields |= {"heart_rate_bpm": rng.randint(55, 85), "respiration_rpm": rng.randint(12, 20)}
        return Reading(**fields)
    if kind is DeviceKind.POWER_PLUG:
        on = rng.random() < 0.7
        power = round(rng.uniform(1200, 1900), 1) if on else 0.0
        energy[device.id] += int(power / 60)
        return Reading(on=on, power_w=power, voltage_v=round(rng.uniform(219, 231), 1),
                       current_a=round(power / 225, 2), energy_wh=energy[device.id])
    if kind is DeviceKind.TEMPERATURE_SENSOR:
        low, high = (-20, -16) if device.role is TemperatureRole.FREEZER else (2, 6)
        return Reading(temperature_c=round(rng.uniform(low, high), 2),
                       humidity_pct=round(rng.uniform(40, 70), 1), battery_pct=battery)
    if kind is DeviceKind.PRESENCE_SENSOR:  # someone is in the kitchen: the stove is attended
        return Reading(occupied=True, battery_pct=battery)
    if kind is DeviceKind.DOOR_CONTACT:
        return Reading(open=rng.random() < 0.1, battery_pct=battery)
    if kind is DeviceKind.LEAK_SENSOR:
        return Reading(leak=False, battery_pct=battery)
    if kind is DeviceKind.SMOKE_DETECTOR:
        return Reading(smoke=False, battery_pct=battery)
    return Reading(pressed=False, battery_pct=battery)


def observations(site: Site, n: int) -> list[tuple[str, bytes]]:
    """N envelopes as an edge publishes them: unique id, per-device seq, times spread over recent minutes."""
    rng = random.Random(SEED)
    devices = [d for d in site.devices if d.kind in WEIGHTS]
    chosen = rng.choices(devices, weights=[WEIGHTS[d.kind] for d in devices], k=n)
    # Times as a live edge stamps them: in order, over the last few minutes (ten at most).
    span = min(600.0, n * 0.03)
    start = utcnow() - timedelta(seconds=span)
    seqs: Counter[str] = Counter()
    energy: Counter[str] = Counter()
    out = []
    for i, device in enumerate(chosen):
        seqs[device.id] += 1
        env = Envelope(id=new_id(), site=site.id, device=device.id, kind=device.kind.value,
                       at=start + timedelta(seconds=span * i / n), seq=seqs[device.id],
                       data=reading(device, rng, energy))
        out.append((topics.observation(site.id, device.id), to_json(env)))
    return out
