"""The soak mode of `camera_quality.py`: hours of normal footage only, in worker processes, for false alarms.

    .venv/bin/python bench/camera_quality.py --soak HOURS [--jobs N]

`camera_quality_cases.soak_plan` cuts HOURS camera-hours into segments of up to 30 minutes, each on its own
seeded room, the kinds in turn: daylight routine (people crossing, sitting for minutes, standing, naps in bed,
a fall and getting up within 8 s, the room empty for up to 20 minutes), dusk (someone goes to bed or the room
is empty, the lights go dim, then infrared), dawn (infrared, lights on, getting up, the day) and infrared
nights asleep or empty. Every segment is played like the suite's normal cases (`camera_quality.play`) on a
fresh judge; any raise is a false alarm (the only labels are person-down spells shorter than the 20 s delay).
Segments run in N spawned processes with one OpenCV thread each. Deterministic, whatever N.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import Counter

import cv2
from camera_quality import DOWN_AFTER_S, FALSE_PER_DAY, FPS, SIZE, play
from camera_quality_cases import Case, soak_plan, soak_script

from devices.sim.cameras.scene import Room
from devices.sim.cameras.script import labels

Segment = tuple[str, int, float]  # (kind, room seed, seconds)
Result = tuple[int, str, int, float, int, list]  # (index, kind, seed, seconds, frames, raises (t, kind, zone))


def soak_case(kind: str, seed: int, seconds: float) -> Case:
    """One soak segment as a normal case; refuses a script with anything a person would report."""
    script = soak_script(kind, seed, seconds)
    events = [lab for lab in labels(script) if lab.start_s < seconds
              and not (lab.kind == "person_down" and lab.end_s - lab.start_s <= DOWN_AFTER_S)]
    if events:
        raise ValueError(f"soak segment {script.name} is not normal footage: {events}")
    return Case(None, script.name, script, seed, seconds)


def play_segment(job: tuple[int, Segment]) -> Result:
    """Play one segment in a worker: what it raised that no label explains (all of it: nothing is wanted)."""
    index, (kind, seed, seconds) = job
    case = soak_case(kind, seed, seconds)
    played = play(case, Room(seed, SIZE))
    return index, kind, seed, seconds, played.frames, played.unmatched


def _init_worker() -> None:
    """One OpenCV thread per worker process."""
    cv2.setNumThreads(1)


def run_soak(plan: list[Segment], jobs: int, progress: bool) -> tuple[list[Result], float]:
    """Play every segment, in `jobs` spawned processes (in this one when jobs is 1); (results, seconds)."""
    started = time.perf_counter()
    work = list(enumerate(plan))
    results: list[Result] = []

    def done(result: Result) -> None:
        results.append(result)
        if progress:
            _, kind, seed, seconds, frames, raised = result
            print(f"soak {len(results)}/{len(plan)}: seed {seed} {kind} {seconds / 60:.0f} min, {frames} frames, "
                  f"{len(raised)} raised, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    if jobs <= 1:
        _init_worker()
        for job in work:
            done(play_segment(job))
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(jobs, initializer=_init_worker) as pool:
            for result in pool.imap_unordered(play_segment, work, chunksize=1):
                done(result)
    return sorted(results), time.perf_counter() - started


def report_soak(plan: list[Segment], results: list[Result], seconds: float, jobs: int) -> bool:
    """Print the soak's footage, every false alarm and the rate against the target; True when it holds."""
    hours = sum(r[3] for r in results) / 3600
    frames = sum(r[4] for r in results)
    kinds = Counter(kind for kind, _, _ in plan)
    rooms = len({seed for _, seed, _ in plan})
    print(f"soak: {hours:.2f} camera-hours of normal footage played, {len(results)} segments on {rooms} rooms "
          f"({', '.join(f'{n} {k}' for k, n in kinds.items())}; {plan[0][2] / 60:.1f} min each)")
    print(f"frames analysed: {frames} ({frames / FPS / 3600:.2f} h at {FPS:g} fps, {SIZE[0]}x{SIZE[1]}) in "
          f"{seconds:.0f} s on {jobs} job{'s' if jobs > 1 else ''} ({1000 * seconds * jobs / max(1, frames):.1f} "
          f"ms a frame per job)")
    false = [(seed, f"{index}:{kind}", t, what, zone)
             for index, kind, seed, _, _, raised in results for t, what, zone in raised]
    by_kind = Counter(what for *_, what, _ in false)
    print(f"false alarms: {len(false)}{' ' + str(dict(by_kind)) if false else ''}")
    for seed, segment, t, what, zone in false:
        print(f"    seed {seed} segment {segment} t={t:.1f} s ({t / 60:.1f} min): {what} zone={zone or '-'}")
    per_hour = len(false) / hours if hours else 0.0
    per_day = 24 * per_hour
    bound = 72 / hours if hours else float("inf")
    print(f"false alarms per camera-hour: {per_hour:.4f}, per camera-day: {per_day:.3f}"
          + (f" (none seen: 95 % upper bound {bound:.2f} per camera-day)" if not false else ""))
    ok = per_day <= FALSE_PER_DAY
    # None seen in too few hours proves little: say so instead of a PASS.
    verdict = "MISS" if not ok else ("NOT SHOWN" if not false and bound > FALSE_PER_DAY else "PASS")
    why = {"NOT SHOWN": f" (none seen, but the 95 % upper bound {bound:.2f} exceeds {FALSE_PER_DAY:g}: play at "
                        f"least {72 / FALSE_PER_DAY:g} camera-hours)", "PASS": "", "MISS": ""}[verdict]
    print(f"target <= {FALSE_PER_DAY:g} false alarm per camera-day ({per_day:.3f}): {verdict}{why}")
    return ok


def soak(hours: float, jobs: int, progress: bool) -> bool:
    """Plan, play and report a soak of `hours` camera-hours; True when the false-alarm target holds."""
    if hours <= 0 or jobs < 1:
        raise SystemExit("--soak needs HOURS > 0 and --jobs >= 1")
    plan = soak_plan(hours)
    for kind, seed, seconds in plan:  # refuse a plan with event footage before any work starts
        soak_case(kind, seed, seconds)
    results, seconds = run_soak(plan, jobs, progress)
    return report_soak(plan, results, seconds, jobs)
