"""The kitchen: the cook comes for each meal, runs the appliances, steps out briefly, opens the fridges."""

from datetime import datetime, timedelta
from random import Random

from devices.facility import Site
from devices.sim.appliances import Meter
from devices.sim.cabinets import Cabinet
from devices.sim.device import SimDevice
from devices.sim.timeline import Action, Timeline, inside, next_local

MEALS = (6 * 60, 10 * 60 + 30, 16 * 60 + 30)  # local minutes when cooking starts: breakfast, lunch, supper
LEVELS_W = (1200.0, 1500.0, 1800.0, 2000.0)  # induction power settings
Span = tuple[datetime, datetime]
Plan = list[tuple[datetime, Action]]


def minutes(low: float, high: float, rng: Random) -> timedelta:
    """A random duration between `low` and `high` minutes."""
    return timedelta(minutes=rng.uniform(low, high))


class Kitchen:
    """One kitchen room: its cooking plugs, presence sensors and the cold stores in it."""

    def __init__(self, site: Site, rng: Random, *, cookers: list[Meter], presence: list[SimDevice],
                 cabinets: list[Cabinet]) -> None:
        self.site, self.rng = site, rng
        self.cookers, self.presence, self.cabinets = cookers, presence, cabinets
        self.timeline = Timeline()
        self.free_at: datetime | None = None
        self.meal: datetime | None = None
        # Half the alert threshold is the brief's ceiling; 40 % leaves room for report timing.
        self.longest_absence = min(0.4 * site.thresholds.kitchen_unattended, timedelta(minutes=4))
        self._present(False)()

    def advance(self, now: datetime, dt: float) -> None:
        """Plan the next visit or meal when idle, run what is due, update the plugs."""
        if self.free_at is None or now >= self.free_at:
            self._plan(now)
        self.timeline.run_due(now)
        for meter in self.cookers:
            meter.advance(now, dt)

    def _plan(self, now: datetime) -> None:
        """Either someone drops in before the next meal, or the meal is next."""
        self.meal = self.meal or self._next_meal(now)
        visit = now + minutes(0, 90, self.rng)
        length = minutes(1, 4, self.rng)
        if self.meal is None or visit + length + timedelta(minutes=5) < self.meal:
            if inside(self.site.schedules.kitchen_hours, self.site.zone, visit, visit + length):
                self._schedule(self._visit(visit, length))
            self.free_at = visit + length
            return
        plan = self._cook(self.meal)
        self._schedule(plan)
        self.free_at, self.meal = max(at for at, _ in plan), None

    def _next_meal(self, now: datetime) -> datetime | None:
        """Start of the next meal that fits inside kitchen hours, within two days."""
        hours, zone = self.site.schedules.kitchen_hours, self.site.zone
        starts = sorted(next_local(now + timedelta(days=d), zone, m + self.rng.uniform(-10, 10))
                        for d in (0, 1) for m in MEALS)
        fits = [s for s in starts if s > now and inside(hours, zone, s, s + timedelta(minutes=100))]
        return fits[0] if fits else None

    def _schedule(self, plan: Plan) -> None:
        """Put a plan on the timeline."""
        for at, action in plan:
            self.timeline.at(at, action)

    def _visit(self, at: datetime, length: timedelta) -> Plan:
        """Someone drops in for a few minutes, maybe to fetch something from a cold store."""
        plan = [(at, self._present(True)), (at + length, self._present(False))]
        if self.cabinets and self.rng.random() < 0.5:
            plan.append(self._door(self.rng.choice(self.cabinets), at + length * self.rng.uniform(0.2, 0.6)))
        return plan

    def _cook(self, arrive: datetime) -> Plan:
        """One meal: arrive, cook, step out briefly now and then, switch everything off, then leave."""
        plan: Plan = [(arrive, self._present(True))]
        begin = arrive + minutes(3, 8, self.rng)
        runs: list[Span] = []
        for i, meter in enumerate(self.cookers):
            runs += self._bursts(meter, begin, plan) if i % 2 == 0 else self._long_run(meter, begin, plan)
        last_off = max((end for _, end in runs), default=arrive + timedelta(minutes=20))
        away = self._absences(arrive + timedelta(minutes=10), last_off - timedelta(minutes=2), plan)
        self._fridge_trips(arrive, last_off, away, plan)
        plan.append((last_off + minutes(2, 6, self.rng), self._present(False)))
        return plan

    def _bursts(self, meter: Meter, begin: datetime, plan: Plan) -> list[Span]:
        """Stir-frying on the induction cooker: two or three bursts at changing power."""
        runs: list[Span] = []
        at = begin + minutes(0, 5, self.rng)
        for _ in range(self.rng.randint(2, 3)):
            length = minutes(8, 15, self.rng)
            change = at + length * self.rng.uniform(0.3, 0.7)
            plan.append((at, self._level(meter, self.rng.choice(LEVELS_W))))
            plan.append((change, self._level(meter, self.rng.choice(LEVELS_W))))
            plan.append((at + length, self._level(meter, 0.0)))
            runs.append((at, at + length))
            at += length + minutes(3, 8, self.rng)
        return runs

    def _long_run(self, meter: Meter, begin: datetime, plan: Plan) -> list[Span]:
        """Rice or buns in the steamer: one long run at steady power."""
        at = begin + minutes(0, 3, self.rng)
        end = at + minutes(35, 50, self.rng)
        plan += [(at, self._level(meter, self.rng.uniform(1600, 1900))), (end, self._level(meter, 0.0))]
        return [(at, end)]

    def _absences(self, low: datetime, high: datetime, plan: Plan) -> list[Span]:
        """The cook steps out (storeroom, bins) for well under half the unattended limit."""
        spans: list[Span] = []
        at = low + minutes(5, 15, self.rng)
        while True:
            back = at + self.longest_absence * self.rng.uniform(0.4, 1.0)
            if back >= high:
                return spans
            plan += [(at, self._present(False)), (back, self._present(True))]
            spans.append((at, back))
            at = back + minutes(15, 30, self.rng)

    def _fridge_trips(self, low: datetime, high: datetime, away: list[Span], plan: Plan) -> None:
        """Each cold store is opened once to three times while the cook is there."""
        for cabinet in self.cabinets:
            for _ in range(self.rng.randint(1, 3)):
                at = low + (high - low) * self.rng.random()
                if not any(start <= at <= end for start, end in away):
                    plan.append(self._door(cabinet, at))

    def _door(self, cabinet: Cabinet, at: datetime) -> tuple[datetime, Action]:
        """Open a cold store's door at `at` for 10-40 s."""
        seconds = self.rng.uniform(10, 40)
        return at, lambda: cabinet.open(at, seconds)

    def _present(self, occupied: bool) -> Action:
        """Set every presence sensor of the kitchen."""
        def action() -> None:
            for sim in self.presence:
                sim.set(occupied=occupied)
        return action

    @staticmethod
    def _level(meter: Meter, watts: float) -> Action:
        """Set an appliance's draw, never above its rating."""
        appliance = meter.sim.device.appliance
        rated = appliance.rated_w if appliance and appliance.rated_w else None
        level = min(watts, 0.95 * rated) if rated and watts else watts
        return lambda: setattr(meter, "level", level)
