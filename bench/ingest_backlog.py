"""The benchmark's backlog: observations of the reference facility's devices, as an edge publishes them."""

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from devices import topics
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, TemperatureRole
from devices.messages import Envelope, Reading, new_id, to_json, utcnow

SEED = 20260501  # the same mix of devices and readings on every run (ids and times are fresh)

# How often each kind reports, relative to a door contact: mats, plugs and cabinets chatter, buttons barely.
WEIGHTS = {DeviceKind.BED_SENSOR: 3, DeviceKind.POWER_PLUG: 3, DeviceKind.TEMPERATURE_SENSOR: 2,
           DeviceKind.PRESENCE_SENSOR: 2, DeviceKind.DOOR_CONTACT: 1, DeviceKind.LEAK_SENSOR: 1,
           DeviceKind.SMOKE_DETECTOR: 1, DeviceKind.SOS_BUTTON: 1}


# Normal readings of each temperature role: well inside every rule's limits.
NORMAL_C = {TemperatureRole.FREEZER: (-20, -16), TemperatureRole.FRIDGE: (2, 6), TemperatureRole.ROOM: (20, 25),
            TemperatureRole.HOT_WATER: (40, 45), TemperatureRole.OTHER: (3, 7)}


def reading(site: Site, device: Device, rng: random.Random, energy: Counter[str]) -> Reading:
    """A normal-operation reading (no alarm under any rule): the steady load of a quiet day and night."""
    battery = round(rng.uniform(60, 100), 1)
    kind = device.kind
    if kind is DeviceKind.BED_SENSOR:
        fields: dict[str, Any] = {"occupied": True, "movement": rng.random() < 0.2, "battery_pct": battery}
        if device.protocol == "native":  # the smart mat also reports vitals
            fields |= {"heart_rate_bpm": rng.randint(55, 85), "respiration_rpm": rng.randint(12, 20)}
        return Reading(**fields)
    if kind is DeviceKind.POWER_PLUG:
        return _plug(site, device, rng, energy)
    if kind is DeviceKind.TEMPERATURE_SENSOR:
        low, high = NORMAL_C[device.role or TemperatureRole.OTHER]
        return Reading(temperature_c=round(rng.uniform(low, high), 2),
                       humidity_pct=round(rng.uniform(40, 70), 1), battery_pct=battery)
    if kind is DeviceKind.PRESENCE_SENSOR:  # someone is in the kitchen: the stove is attended
        return Reading(occupied=True, battery_pct=battery)
    if kind is DeviceKind.DOOR_CONTACT:  # exit doors stay shut: one opening at night is an alert
        return Reading(open=False, battery_pct=battery)
    if kind is DeviceKind.LEAK_SENSOR:
        return Reading(leak=False, battery_pct=battery)
    if kind is DeviceKind.SMOKE_DETECTOR:
        return Reading(smoke=False, battery_pct=battery)
    return Reading(pressed=False, battery_pct=battery)


def _plug(site: Site, device: Device, rng: random.Random, energy: Counter[str]) -> Reading:
    """A boiler heating or keeping warm; a cooking appliance on during kitchen hours only."""
    appliance = device.appliance
    rated = appliance.rated_w if appliance and appliance.rated_w else 2000.0
    if appliance is not None and appliance.role is PlugRole.BOILER:
        power = round(rng.uniform(0.86, 0.96) * rated, 1) if rng.random() < 0.5 else round(rng.uniform(2, 8), 1)
    elif site.schedules.kitchen_hours.contains(site.local(utcnow()).time()) and rng.random() < 0.7:
        power = round(rng.uniform(0.4, 0.9) * rated, 1)
    else:
        power = round(rng.uniform(0.5, 2.0), 1)
    energy[device.id] += int(power / 60)
    return Reading(on=power > 0, power_w=power, voltage_v=round(rng.uniform(219, 231), 1),
                   current_a=round(power / 225, 2), energy_wh=energy[device.id])


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
                       data=reading(site, device, rng, energy))
        out.append((topics.observation(site.id, device.id), to_json(env)))
    return out
