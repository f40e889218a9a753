"""Load and check the facility YAML; every error names the key path and its line."""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from devices.facility import Facility, Site
from devices.kinds import DeviceKind
from devices.protocols import kinds_of

PathPart = str | int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the facility file."""

    path: tuple[PathPart, ...]
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{dotted(self.path) or '(top)'}: {self.message}"


class FacilityError(ValueError):
    """The facility file cannot be used; `problems` says where and why."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the facility file:\n{lines}")


def dotted(path: Iterable[PathPart]) -> str:
    """`sites[0].devices[3].kind` from ('sites', 0, 'devices', 3, 'kind')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _UniqueKeys:
    """Refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """The pure-Python SafeLoader with unique keys: its errors say most precisely where."""


# libyaml parses ~20x faster (a district of 200 homes: 51 s of pure-Python parsing at every server start).
_FAST = getattr(yaml, "CSafeLoader", None)
_UniqueKeyFastLoader = type("_UniqueKeyFastLoader", (_UniqueKeys, _FAST), {}) if _FAST else None


def load_facility(path: str | Path, profile: str | None = None) -> Facility:
    """Read, validate and cross-check a facility file, then apply a named profile."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FacilityError(source, [Problem((), None, f"cannot read the file: {exc}")]) from exc
    return parse_facility(text, source=source, profile=profile)


def parse_facility(text: str, *, source: str = "<facility>", profile: str | None = None) -> Facility:
    """Validate facility YAML text; raises FacilityError naming every problem's key and line."""
    data, root = _read_yaml(text, source)
    try:
        facility = Facility.model_validate(data)
    except ValidationError as exc:
        raise FacilityError(source, [_problem(err, root) for err in exc.errors()]) from None
    problems = [Problem(p, _line_of(root, p), m) for p, m in cross_check(facility)]
    if problems:
        raise FacilityError(source, problems)
    return apply_profile(facility, profile, source, root) if profile else facility


def _read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML into data plus the node tree that remembers lines."""
    if _FAST is not None and _UniqueKeyFastLoader is not None:
        loader = _UniqueKeyFastLoader(text)
        try:  # parse once: the node tree (for lines), then the data built from it
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        except yaml.YAMLError:
            pass  # parsed again below: the pure-Python parser's message and mark are the ones we show
        else:
            return _mapping(data, source), root
        finally:
            loader.dispose()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):
            # A control character (pasted from a PDF) has no mark, only a character position: say its line.
            line = text.count("\n", 0, exc.position) + 1
            reason = f"character {exc.character!r} is not allowed in YAML"
        raise FacilityError(source, [Problem((), line, f"not valid YAML: {reason}")]) from None
    return _mapping(data, source), root


def _mapping(data: Any, source: str) -> dict[str, Any]:
    """The parsed file, which must be a mapping."""
    if not isinstance(data, dict):
        raise FacilityError(source, [Problem((), 1, "the file must be a mapping with `version` and `sites`")])
    return data


def _problem(err: Any, root: yaml.Node | None) -> Problem:
    """A pydantic error as a Problem with the line of the key it is about."""
    path = tuple(p for p in err["loc"] if isinstance(p, str | int))
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key (check its spelling and indentation)"
    elif err["type"] == "missing":
        message = "required key is missing"
    return Problem(path, _line_of(root, path), message.removeprefix("Value error, "))


def _line_of(node: yaml.Node | None, path: tuple[PathPart, ...]) -> int | None:
    """1-based line of the deepest node of `path` that exists in the YAML tree."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        node = _child(node, part)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: PathPart) -> yaml.Node | None:
    """The key node (for a mapping) or item (for a sequence) that `part` names."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                # Point at the key for leaves, at the value for collections we descend into.
                return value if isinstance(value, yaml.MappingNode | yaml.SequenceNode) else key
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def cross_check(facility: Facility) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """References between parts of the file: ids unique, rooms, beds and zones that exist."""
    yield from _duplicates(("sites",), [s.id for s in facility.sites], "site id")
    topics: Counter[str] = Counter(d.topic for s in facility.sites for d in s.devices if d.topic)
    for i, site in enumerate(facility.sites):
        yield from _check_site(("sites", i), site, topics)


Found = Iterator[tuple[tuple[PathPart, ...], str]]


def _check_site(at: tuple[PathPart, ...], site: Site, topics: Counter[str]) -> Found:
    """Cross-references inside one site."""
    rooms = site.rooms()
    yield from _duplicates(at + ("buildings",), [r.id for r in rooms], "room id")
    yield from _duplicates(at + ("buildings",), [b.id for r in rooms for b in r.beds], "bed id")
    yield from _duplicates(at + ("buildings",), [z.id for r in rooms for z in r.zones], "zone id")
    yield from _duplicates(at + ("devices",), [d.id for d in site.devices], "device id")
    yield from _duplicates(at + ("staff",), [s.id for s in site.staff], "staff id")
    yield from _duplicates(at + ("care_profiles",), [p.id for p in site.care_profiles], "care profile id")
    yield from _check_beds(at, site)
    zones = {z.id for r in rooms for z in r.zones}
    for j, device in enumerate(site.devices):
        yield from _check_device(at + ("devices", j), site, device, zones, topics)
    yield from _check_duty(at, site)
    yield from _duplicates(at + ("watches",), [w.id for w in site.watches], "watch id")
    for j, watch in enumerate(site.watches):
        for k, device_id in enumerate(watch.devices):
            if device_id not in site.device_by_id:
                yield at + ("watches", j, "devices", k), f"no device {device_id!r} in this site"
    staff, room_ids = {s.id for s in site.staff}, {r.id for r in rooms}
    yield from ((at + ("epidemic", *path), message) for path, message in site.epidemic.problems(staff, room_ids))
    taken = {d.id for d in site.devices}
    for j, cabinet in enumerate(site.food.cabinets):  # its id is its alerts' subject: not a device's too
        if cabinet.id in taken:
            yield at + ("food", "cabinets", j, "id"), f"{cabinet.id!r} is a device id already"
    yield from _duplicates(at + ("food", "cabinets"), [c.id for c in site.food.cabinets], "cabinet id")


# Channels every site has without configuring them.
BUILTIN_CHANNELS = frozenset({"screen"})


def _check_duty(at: tuple[PathPart, ...], site: Site) -> Found:
    """The roster names staff of the site; escalation steps name configured channels."""
    staff = {s.id for s in site.staff}
    for i, shift in enumerate(site.roster.shifts if site.roster else []):
        for k, person in enumerate(shift.staff):
            if person not in staff:
                yield at + ("roster", "shifts", i, "staff", k), f"no staff {person!r} in this site"
        if shift.supervisor and shift.supervisor not in staff:
            yield at + ("roster", "shifts", i, "supervisor"), f"no staff {shift.supervisor!r} in this site"
    known = BUILTIN_CHANNELS | set(site.channels)
    for k, channel in enumerate(site.digest.channels if site.digest else []):
        if channel not in site.channels:
            yield at + ("digest", "channels", k), f"no channel {channel!r} in `channels`"
    for severity in ("critical", "high", "medium", "low"):
        policy = getattr(site.escalation, severity)
        for j, step in enumerate(policy.steps if policy else []):
            for k, channel in enumerate(step.channels):
                if channel not in known:
                    yield (at + ("escalation", severity, "steps", j, "channels", k),
                           f"no channel {channel!r} (configure it in `channels`, or use screen)")


def _check_beds(at: tuple[PathPart, ...], site: Site) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """Every bed's care profile exists."""
    for b, building in enumerate(site.buildings):
        for f, floor in enumerate(building.floors):
            for r, room in enumerate(floor.rooms):
                for k, bed in enumerate(room.beds):
                    if bed.care_profile and bed.care_profile not in site.profile_by_id:
                        path = at + ("buildings", b, "floors", f, "rooms", r, "beds", k, "care_profile")
                        yield path, f"no care profile {bed.care_profile!r} in care_profiles"


def _check_device(
    at: tuple[PathPart, ...], site: Site, device: Any, zones: set[str], topics: Counter[str]
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """A device's room, bed, zones and topic make sense."""
    room = site.room_by_id.get(device.location.room)
    if room is None:
        yield at + ("location", "room"), f"no room {device.location.room!r} in this site"
    elif device.location.bed and device.location.bed not in {b.id for b in room.beds}:
        yield at + ("location", "bed"), f"no bed {device.location.bed!r} in room {room.id!r}"
    if device.kind is DeviceKind.BED_SENSOR and not device.location.bed:
        yield at + ("location",), "a bed_sensor must name its bed"
    for z, zone in enumerate(device.sees):
        if zone not in zones:
            yield at + ("sees", z), f"no zone {zone!r} in this site"
    if device.topic and topics[device.topic] > 1:
        yield at + ("topic",), f"topic {device.topic!r} is used by another device"
    if device.topic and set(device.topic) & {"+", "#"}:
        yield at + ("topic",), "a device topic cannot hold the MQTT wildcards + or #"
    if device.kind is not DeviceKind.CAMERA and device.kind not in kinds_of(device.protocol):
        yield at + ("protocol",), f"{device.protocol.value} has no {device.kind.value} devices"


def _duplicates(at: tuple[PathPart, ...], ids: list[str], what: str) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """One problem per id that appears more than once."""
    for value, count in Counter(ids).items():
        if count > 1:
            yield at, f"{what} {value!r} is used {count} times"


def apply_profile(facility: Facility, name: str, source: str = "<facility>", root: Any = None) -> Facility:
    """The facility with a named profile's schedules, thresholds, watch settings, channels, escalation and camera
    settings laid over every site, checked again as a whole."""
    if name not in facility.profiles:
        known = ", ".join(sorted(facility.profiles)) or "none"
        raise FacilityError(source, [Problem(("profiles",), _line_of(root, ("profiles",)),
                                             f"no profile {name!r} (known: {known})")])
    overrides = facility.profiles[name]
    watch_ids = {w.id for site in facility.sites for w in site.watches}
    unknown = sorted(set(overrides.watches) - watch_ids)
    if unknown:
        raise FacilityError(source, [Problem(("profiles", name, "watches"), _line_of(root, ("profiles", name)),
                                             f"no watch {', '.join(map(repr, unknown))} in any site")])
    data = facility.model_dump(by_alias=True, mode="json")
    for site in data["sites"]:
        site["schedules"] = {**site["schedules"], **overrides.schedules}
        site["thresholds"] = {**site["thresholds"], **overrides.thresholds}
        site["watches"] = [{**w, **overrides.watches.get(w["id"], {})} for w in site["watches"]]
        site["channels"] = {**site["channels"], **overrides.channels}
        site["escalation"] = {**site["escalation"], **overrides.escalation}
        site["cameras"] = {**site["cameras"], **overrides.cameras}
    try:
        applied = Facility.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, None) for err in exc.errors()]
        raise FacilityError(source, [Problem(("profiles", name, *p.path[2:]), _line_of(root, ("profiles", name)),
                                             p.message) for p in problems]) from None
    found = [Problem(("profiles", name, *path[2:]), _line_of(root, ("profiles", name)), message)
             for path, message in cross_check(applied)]
    if found:
        raise FacilityError(source, found)
    return applied
