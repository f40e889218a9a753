"""Live changes to a running camera (what `POST /cam/<id>/condition` does), layered over its script.

Public API:
    CHANGE_KEYS                     the keys a change may hold: the Conditions fields, pose, x, reset
    POSE_WORDS                      accepted pose words ("fall", "walk", "get_up", ... or a pose name; "script")
    parse_change(body) -> dict      validate a decoded JSON change; ValueError with a message naming the key
    Overrides()                     time-ordered changes: `.add(change, t, figure_now)`, `.apply(t, figure, cond)`

A pose change starts a movement at t from where the figure is: "fall" falls (FALL_S) and lies still, "get_up"
rises (GETUP_S) and stands, "sit" sits down, "walk" walks back and forth across the room; "script" (or null)
hands the figure back to the script. {"reset": true} drops every live change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devices.sim.cameras.scene import FALL_S, GETUP_S, POSES, SIT_S, Conditions, Figure

POSE_WORDS = {"fall": "falling", "walk": "walking", "stand": "standing", "sit": "sitting", "bed": "in_bed",
              "lie": "lying", "get_up": "getting_up", "leave": "absent", **{p: p for p in POSES}}
CHANGE_KEYS = (*Conditions.field_names(), "pose", "x", "reset")
WALK_SPEED = 0.12  # home-view widths per second (about 0.8 m/s across a 6 m room)


def parse_change(body: Any) -> dict[str, Any]:
    """Check a change: a JSON object of known keys with values of the right type and range."""
    if not isinstance(body, dict) or not body:
        raise ValueError('the body must be a non-empty JSON object, e.g. {"covered": true}')
    unknown = sorted(set(body) - set(CHANGE_KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}: expected one of {', '.join(CHANGE_KEYS)}")
    conditions = {k: v for k, v in body.items() if k in Conditions.field_names()}
    Conditions().but(**conditions)  # raises ValueError naming the field
    pose = body.get("pose")
    if pose is not None and (not isinstance(pose, str) or (pose not in POSE_WORDS and pose != "script")):
        raise ValueError(f"pose must be one of {', '.join([*POSE_WORDS, 'script'])}, not {pose!r}")
    x = body.get("x")
    if x is not None and (isinstance(x, bool) or not isinstance(x, int | float) or not 0.0 <= x <= 1.0):
        raise ValueError(f"x must be a number from 0 to 1, not {x!r}")
    if "reset" in body and body["reset"] is not True:
        raise ValueError("reset must be true")
    return dict(body)


@dataclass(frozen=True)
class _Move:
    """A live pose: what, since when, from where."""

    pose: str
    since: float
    x: float
    facing: int


class Overrides:
    """The live changes of one camera, applied on top of its script in time order."""

    def __init__(self) -> None:
        self._conditions: list[tuple[float, dict[str, Any]]] = []
        self._moves: list[_Move | None] = []
        self._move_times: list[float] = []
        self.since = 0.0  # time of the latest change

    def add(self, change: dict[str, Any], t: float, figure_now: Figure) -> None:
        """Record a parsed change made at time t, when the figure was `figure_now`."""
        self.since = t
        if change.get("reset"):
            self._conditions.clear()
            self._moves.clear()
            self._move_times.clear()
        cond = {k: v for k, v in change.items() if k in Conditions.field_names()}
        if cond:
            self._conditions.append((t, cond))
        if "pose" in change:
            pose = change["pose"]
            x = float(change.get("x", figure_now.x if figure_now.pose != "absent" else 0.35))
            move = None if pose in (None, "script") else _Move(POSE_WORDS[pose], t, x, figure_now.facing or 1)
            self._moves.append(move)
            self._move_times.append(t)

    def apply(self, t: float, figure: Figure, conditions: Conditions) -> tuple[Figure, Conditions]:
        """The scripted figure and conditions at t with every change made at or before t laid over them."""
        for at, cond in self._conditions:
            if at <= t:
                conditions = conditions.but(**cond)
        move = None
        for at, m in zip(self._move_times, self._moves, strict=True):
            if at <= t:
                move = m
        return (figure if move is None else _moved(move, t)), conditions


def _moved(move: _Move, t: float) -> Figure:
    """The figure doing a live movement, `t - move.since` seconds in."""
    dt = max(0.0, t - move.since)
    if move.pose == "falling":
        return Figure("lying", move.x, move.facing) if dt >= FALL_S else Figure("falling", move.x, move.facing,
                                                                                dt / FALL_S)
    if move.pose == "getting_up":
        return Figure("standing", move.x, move.facing) if dt >= GETUP_S else Figure("getting_up", move.x,
                                                                                    move.facing, dt / GETUP_S)
    if move.pose == "sitting":
        return Figure("sitting", move.x, move.facing, min(1.0, dt / SIT_S))
    if move.pose == "walking":
        lo, hi = 0.1, 0.9  # turn at the walls
        span = hi - lo
        pos = (min(max(move.x, lo), hi) - lo + WALK_SPEED * dt * move.facing) % (2 * span)
        ahead = pos <= span  # unfolded back-and-forth path: the second half is the way back
        return Figure("walking", lo + (pos if ahead else 2 * span - pos), move.facing if ahead else -move.facing)
    return Figure(move.pose, move.x, move.facing)
