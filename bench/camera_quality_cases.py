"""The labelled scenario suite of `camera_quality.py`: which scripts play on which rooms, by day or by night.

Every case is one simulated camera (a `Room` seed) playing one script from t = 0 to `end_s`. Event cases name
the kind they are there for; normal cases have no event a careful person would report. The sim's own
`SCRIPTS` are used where they fit; night variants, a freeze longer than the judge's 60 s window and long
normal footage are composed here the same way the sim composes its scenarios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from devices.sim.cameras.scene import BED_AREA, CHAIR_X, FALL_S, GETUP_S, Conditions
from devices.sim.cameras.script import SCRIPTS, Script, compose
from edge.cameras.zones import ViewZone, view_zones

NIGHT = Conditions(lights="infrared")
OFF_LEFT, OFF_RIGHT = -0.12, 1.12  # just outside the home view, as in the sim's scripts
BX0, BY0, BX1, BY1 = BED_AREA
BED_X = BX0 + 0.02  # where someone stands to get into bed
VIEW = {  # the sim's room as cam-08 sees it (as in tests/edge/test_camera_analytics.py), plus a door zone
    "z103-floor": [[0, 0.55], [1, 0.55], [1, 1], [0, 1]],
    "z103-beds": [[BX0, BY0], [BX1, BY0], [BX1, BY1], [BX0, BY1]],
    "z103-door": [[0.25, 0.5], [0.5, 0.5], [0.5, 1], [0.25, 1]],
}
EVENTS = ("covered", "blurred", "moved", "frozen", "offline", "person_down", "night_activity")
HEALTH = ("covered", "blurred", "moved", "frozen", "offline")


@dataclass(frozen=True)
class Case:
    """One labelled run: `event` is the kind it is there for (None: normal footage)."""

    event: str | None
    name: str
    script: Script
    seed: int
    end_s: float
    door: str = "passage"  # the door zone's type (passage or exit: both are night zones)

    def zones(self) -> list[ViewZone]:
        """The camera's zones, as the edge builds them from a facility `view`."""
        return view_zones(VIEW, {"z103-floor": "floor", "z103-beds": "bed", "z103-door": self.door})


def _fall(x: float, from_right: bool, base: Conditions | None) -> Script:
    """Walk in from one side, fall at x and lie still for a minute (the sim's `fall`, mirrored or at night)."""
    start = OFF_RIGHT if from_right else OFF_LEFT
    moves = [(2.0, "absent", 0.5), (6.0, "walking", (start, x)), (FALL_S, "falling", x), (61.3, "lying", x)]
    side = "right" if from_right else "left"
    return compose(f"fall_from_{side}{'_night' if base else ''}", moves, base=base)


def _night(name: str, moves: list, changes: list) -> Script:
    """A scenario under infrared lights (nobody up: a walk at night would be night activity)."""
    return compose(f"{name}_night", moves, changes, base=NIGHT)


EMPTY_60 = [(60.0, "absent", 0.5)]
# Frozen for 90 s: the judge's default window is 60 s, longer than the sim's own 30 s freeze.
FROZEN_LONG = compose("frozen_90s", [(15.0, "absent", 0.5), (10.0, "walking", (OFF_LEFT, OFF_RIGHT)),
                                     (95.0, "absent", 0.5)], [(10.0, 100.0, {"frozen": True})])
EVENT_SCRIPTS: dict[str, tuple[Script, Script]] = {  # (by day, by night)
    "covered": (SCRIPTS["covered"], _night("covered", EMPTY_60, [(20.0, 50.0, {"covered": True})])),
    "blurred": (SCRIPTS["defocus"], _night("defocus", EMPTY_60, [(15.0, 45.0, {"defocus": 6.0})])),
    "moved": (SCRIPTS["turned"], _night("turned", EMPTY_60, [(15.0, 60.0, {"turned": 25.0})])),
    "frozen": (FROZEN_LONG, _night("frozen_90s", [(120.0, "absent", 0.5)], [(10.0, 100.0, {"frozen": True})])),
    "offline": (SCRIPTS["dropped"], _night("dropped", [(70.0, "absent", 0.5)], [(10.0, 50.0, {"dropped": True})])),
}
NIGHT_WALK_BACK = compose("night_walk_back", [(5.0, "absent", 0.5), (10.0, "walking", (1.0, 0.0)),
                                              (15.0, "absent", 0.5)], base=NIGHT)
NORMAL = ("empty_day", "empty_night", "day_night_switch", "walk_through", "sit_down", "in_bed", "fall_get_up")


def day_routine(seed: int, duration: float) -> Script:
    """Ordinary daytime life, seeded: empty spells, people crossing, someone sitting a while, standing about."""
    return compose(f"day_routine_{seed}", routine_moves(Random(seed), duration))


def routine_moves(rng: Random, duration: float, rich: bool = False) -> list:
    """The moves of `day_routine`; `rich` also draws long empty spells, falls and getting up, naps, long sits."""
    moves: list = []
    t = 0.0
    while t < duration:
        moves.append((rng.uniform(5.0, 40.0), "absent", 0.5))
        pick = rng.random()
        if rich and pick < 0.35:  # drawn only when rich: day_routine's footage stays the same
            moves += _rare_moves(rng)
        elif pick < 0.4:  # someone crosses the room, either way
            path = (OFF_LEFT, OFF_RIGHT) if rng.random() < 0.5 else (OFF_RIGHT, OFF_LEFT)
            moves.append((rng.uniform(8.0, 14.0), "walking", path))
        elif pick < 0.75:  # comes to the chair, sits for minutes, leaves
            moves += [(5.0, "walking", (OFF_LEFT, CHAIR_X)), (1.0, "standing", CHAIR_X),
                      (rng.uniform(30.0, 180.0), "sitting", CHAIR_X), (1.0, "standing", CHAIR_X),
                      (6.0, "walking", (CHAIR_X, OFF_RIGHT))]
        else:  # walks to a spot, stands there, walks on
            x = rng.uniform(0.15, 0.5)
            moves += [(4.0, "walking", (OFF_LEFT, x)), (rng.uniform(5.0, 30.0), "standing", x),
                      (4.0, "walking", (x, OFF_RIGHT))]
        t = sum(m[0] for m in moves)
    return moves


def _rare_moves(rng: Random) -> list:
    """A rarer stretch of a day, ending in an empty room: minutes of nobody, a fall and up, a nap, a long sit."""
    pick = rng.random()
    if pick < 0.3:  # a still room for minutes: only sensor noise changes (frozen must not be raised)
        return [(rng.uniform(180.0, 1200.0), "absent", 0.5)]
    if pick < 0.5:  # trips, is down a few seconds, gets up and walks on: not person down
        x = rng.uniform(0.2, 0.55)
        return [(5.0, "walking", (OFF_LEFT, x)), (FALL_S, "falling", x), (rng.uniform(2.0, 8.0), "lying", x),
                (GETUP_S, "getting_up", x), (1.3, "standing", x), (6.0, "walking", (x, OFF_RIGHT))]
    if pick < 0.7:  # a nap in bed by day
        return [(5.0, "walking", (OFF_LEFT, BED_X)), (1.0, "standing", BED_X),
                (rng.uniform(120.0, 1200.0), "in_bed", BED_X), (1.0, "standing", BED_X),
                (5.0, "walking", (BED_X, OFF_RIGHT))]
    if pick < 0.85:  # sits still for a long time
        return [(5.0, "walking", (OFF_LEFT, CHAIR_X)), (1.0, "standing", CHAIR_X),
                (rng.uniform(300.0, 1200.0), "sitting", CHAIR_X), (1.0, "standing", CHAIR_X),
                (6.0, "walking", (CHAIR_X, OFF_RIGHT))]
    x = rng.uniform(0.15, 0.85)  # stands a while
    return [(4.0, "walking", (OFF_LEFT, x)), (rng.uniform(30.0, 180.0), "standing", x),
            (4.0, "walking", (x, OFF_RIGHT))]


def night_rest(seed: int, duration: float) -> Script:
    """An ordinary night: asleep in bed under infrared, or the room at dusk turning to night and staying empty."""
    if seed % 2:
        return compose("asleep_night", [(duration, "in_bed", 0.5)], base=NIGHT)
    return compose("dusk_to_night", [(duration, "absent", 0.5)],
                   [(60.0, 90.0, {"lights": "dim"}), (90.0, duration, {"lights": "infrared"})])


def suite(quick: bool) -> list[Case]:
    """The cases of one run, grouped by room; --quick plays fewer rooms and no long normal footage."""
    seeds = range(1, 5) if quick else range(1, 13)
    long_s = 0.0 if quick else 300.0
    cases: list[Case] = []
    for seed in seeds:
        night = seed % 2 == 0
        for event, (day, dark) in EVENT_SCRIPTS.items():
            script = dark if night else day
            cases.append(Case(event, script.name, script, seed, script.duration))
        fall = _fall(0.3, from_right=seed % 4 in (1, 2), base=NIGHT if night else None)
        cases.append(Case("person_down", fall.name, fall, seed, fall.duration))
        walk = SCRIPTS["night_walk"] if seed % 4 < 2 else NIGHT_WALK_BACK
        cases.append(Case("night_activity", walk.name, walk, seed, walk.duration, "exit" if night else "passage"))
        for name in NORMAL:
            cases.append(Case(None, name, SCRIPTS[name], seed, SCRIPTS[name].duration))
        if long_s:
            for script in (day_routine(seed, long_s), night_rest(seed, long_s)):
                cases.append(Case(None, script.name, script, seed, long_s))
    return cases


SOAK_KINDS = ("day", "dusk", "night_asleep", "dawn", "day", "dusk_empty", "night_empty", "day")
SWITCH = [(0.0, 10.0, {"lights": "dim"}), (10.0, 1e9, {"lights": "infrared"})]  # dusk, from a time on


def _at(changes: list, t0: float) -> list:
    """Condition changes shifted to start at t0."""
    return [(t0 + s, t0 + e, change) for s, e, change in changes]


def soak_script(kind: str, seed: int, duration: float) -> Script:
    """Normal footage of one soak segment: a day, a dusk or dawn (lights switch) or a night (infrared)."""
    rng = Random(seed)
    name = f"soak_{kind}_{seed}"
    if kind == "day":
        return compose(name, routine_moves(rng, duration, rich=True))
    if kind == "night_asleep":
        return compose(name, [(duration, "in_bed", BED_X)], base=NIGHT)
    if kind == "night_empty":
        return compose(name, [(duration, "absent", 0.5)], base=NIGHT)
    switch = rng.uniform(0.3, 0.7) * duration
    if kind == "dawn":  # asleep under infrared, lights on, stays in bed a while, gets up, then the day
        up = rng.uniform(30.0, 300.0)
        moves = [(switch, "in_bed", BED_X), (up, "in_bed", BED_X), (1.0, "standing", BED_X),
                 (5.0, "walking", (BED_X, OFF_RIGHT))]
        moves += routine_moves(rng, max(1.0, duration - switch - up), rich=True)
        return compose(name, moves, [(0.0, switch, {"lights": "infrared"}), (switch, switch + 10.0, {"lights": "dim"})])
    moves = routine_moves(rng, switch, rich=True)  # the day, cut where the room is empty before `switch`
    starts = [sum(m[0] for m in moves[:i]) for i in range(len(moves))]
    moves = moves[:max(i for i, m in enumerate(moves) if m[1] == "absent" and starts[i] <= switch)]
    if kind == "dusk":  # someone goes to bed, the lights go dim, then infrared
        moves += [(5.0, "walking", (OFF_LEFT, BED_X)), (1.0, "standing", BED_X), (duration, "in_bed", BED_X)]
    else:
        moves.append((duration, "absent", 0.5))
    dark = sum(m[0] for m in moves[:-1]) + rng.uniform(5.0, 60.0)
    return compose(name, moves, _at(SWITCH, dark))


def soak_plan(hours: float, first_seed: int = 101) -> list[tuple[str, int, float]]:
    """(kind, room seed, seconds) per segment: <= 30 min, >= 24 segments of >= 2 min if it can, a room each."""
    total = hours * 3600.0
    count = max(math.ceil(total / 1800.0), min(24, int(total // 120.0)), 1)
    return [(SOAK_KINDS[i % len(SOAK_KINDS)], first_seed + i, total / count) for i in range(count)]
