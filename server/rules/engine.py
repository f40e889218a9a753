"""Runs the pure rules: keeps their state and timers in memory, persists what changed, fires due timers."""

import heapq
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from devices.facility import Facility
from server.models import RuleState
from server.rules.base import Action, Obs, Rule, State, Step

Key = tuple[str, str, str]  # (site, rule, key)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    """An action a rule asked for, with where it came from."""

    site: str
    rule: str
    action: Action


class RuleEngine:
    """The single place rule state lives; not thread-safe: the pipeline thread owns it."""

    def __init__(self, facility: Facility, rules: Iterable[Rule]) -> None:
        self.facility = facility
        self.rules = {rule.name: rule for rule in rules}
        self.states: dict[Key, State] = {}
        self.dues: dict[Key, datetime] = {}
        self._heap: list[tuple[datetime, Key]] = []
        self._dirty: set[Key] = set()
        self._route_cache: dict[tuple[str, str], list[tuple[Rule, Key]]] = {}

    def load(self, session: Session) -> None:
        """Read the state and pending timer of every rule of our sites (timers survive a restart)."""
        query = select(RuleState).where(RuleState.site.in_(list(self.facility.site_by_id)))
        for row in session.scalars(query):
            key = (row.site, row.rule, row.key)
            self.states[key] = dict(row.state or {})
            if row.due_at is not None:
                self._set_due(key, row.due_at)

    def observe(self, obs: Obs) -> list[Fired]:
        """Give an observation to every rule that cares about its device."""
        fired: list[Fired] = []
        for rule, key in self._routes(obs):
            step = rule.observe(obs, self.states.get(key, {}), self.dues.get(key))
            fired += self._apply(key, step)
        return fired

    def _routes(self, obs: Obs) -> list[tuple[Rule, Key]]:
        """The rules (and their state keys) a device's observations go to, worked out once per device."""
        route = self._route_cache.get((obs.site.id, obs.device.id))
        if route is None:
            route = [(rule, (obs.site.id, rule.name, rule_key)) for rule in self.rules.values()
                     if (rule_key := rule.key(obs.site, obs.device)) is not None]
            self._route_cache[(obs.site.id, obs.device.id)] = route
        return route

    def fire_due(self, now: datetime) -> list[Fired]:
        """Fire every timer due at or before `now`."""
        fired: list[Fired] = []
        while self._heap and self._heap[0][0] <= now:
            due, key = heapq.heappop(self._heap)
            if self.dues.get(key) != due:
                continue  # superseded by a later set or cancel
            del self.dues[key]
            self._dirty.add(key)
            site = self.facility.site_by_id.get(key[0])
            rule = self.rules.get(key[1])
            if site is None or rule is None:
                continue  # site or rule removed from the configuration since the timer was set
            fired += self._apply(key, rule.fire(site, key[2], self.states.get(key, {}), now))
            if key in self.dues and self.dues[key] <= now:
                # A rule must move its timer forward; if it does not, wait a second rather than spin here.
                log.error("rule %s set its timer for %s at or before now; retrying in 1 s", key[1], key[2])
                self._set_due(key, now + timedelta(seconds=1))
        return fired

    def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due."""
        while self._heap and self.dues.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def changed(self) -> bool:
        """Whether some state or timer changed since the last flush."""
        return bool(self._dirty)

    def flush(self, session: Session) -> None:
        """Write changed states and timers in the caller's transaction: one upsert for all of them."""
        rows, gone = [], []
        for key in self._dirty:
            state, due = self.states.get(key), self.dues.get(key)
            if state is None and due is None:
                gone.append(key)
            else:
                rows.append({"site": key[0], "rule": key[1], "key": key[2], "state": state or {}, "due_at": due})
        if rows:
            session.execute(_upsert(session), rows)
        for site, rule, rule_key in gone:
            session.execute(delete(RuleState).where(
                RuleState.site == site, RuleState.rule == rule, RuleState.key == rule_key))
        self._dirty.clear()

    def _apply(self, key: Key, step: Step) -> list[Fired]:
        """Keep a rule's new state and timer; mark them for the next flush."""
        if step.state != self.states.get(key) or step.due != self.dues.get(key):
            self._dirty.add(key)
        if step.state is None:
            self.states.pop(key, None)
        else:
            self.states[key] = step.state
        if step.due is None:
            self.dues.pop(key, None)
        else:
            self._set_due(key, step.due)
        return [Fired(key[0], key[1], action) for action in step.actions]

    def _set_due(self, key: Key, due: datetime) -> None:
        """Remember a timer; stale heap entries are skipped when popped."""
        if self.dues.get(key) != due:
            self.dues[key] = due
            heapq.heappush(self._heap, (due, key))


def _upsert(session: Session) -> Any:
    """INSERT ... ON CONFLICT (site, rule, key) DO UPDATE state and due_at, in the session's dialect."""
    table = RuleState.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(index_elements=["site", "rule", "key"],
                                      set_={"state": stmt.excluded.state, "due_at": stmt.excluded.due_at})
