"""Camera throughput on the edge: the reference site's 12 cameras at 640x360, 5 fps, every analysis on.

    .venv/bin/python bench/camera_throughput.py [--seconds 30] [--quick] [--serve clip|live] [--profile]

The 12 sim cameras (devices/sim/cameras MjpegServer) are served over HTTP MJPEG on 127.0.0.1 by a child
process of their own, so their rendering is not charged to the edge. Each phase runs the edge's real
`edge.cameras.manager.Cameras` for the site (a reader thread and an analysis worker per camera, a real
outbox whose uplink takes nothing) in a fresh child process, and measures that process's CPU time
(user + sys, psutil) over a steady window after a warm-up, and its peak RSS (VmHWM):
  decode only   the same captures, frames taken at analyse_fps and dropped (no health, analytics, events)
  analytics     health judge + analytics + reporter on every taken frame, as the agent runs them
Analysed frames per CPU-second is the "per core" figure; analytics vs decode-only CPU per frame, its cost.
"""

import argparse
import multiprocessing as mp
import os
import sys
import time
from typing import Any

import psutil
from camera_throughput_parts import FALL_CAMERA, FALL_WALK_S, NIGHT, SCENES, STAGES, edge_phase, sim_server
from ingest_clients import BenchError, run_child

FPS = 5.0
SIZE = (640, 360)
TARGET_PER_CORE = 60.0  # 12 cameras x 5 fps in one core
TARGET_RSS_MB = 400.0


def start_server(serve: str) -> tuple[Any, Any, dict[str, Any]]:
    """The sim server process, its stop event, and what it reported (URLs, preparation time)."""
    ctx = mp.get_context("spawn")
    result, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=sim_server, args=(serve, FPS, SIZE, result, stop), daemon=True, name="sim-cameras")
    proc.start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            return proc, stop, dict(result.get(timeout=1))
        except Exception:  # noqa: BLE001 - queue.Empty; check the child is still there
            if not proc.is_alive():
                raise BenchError(f"sim server exited with code {proc.exitcode}") from None
    stop_server(proc, stop)
    raise BenchError("sim server did not start within 180 s")


def stop_server(proc: Any, stop: Any) -> None:
    """Ask the sim server to end; kill it if it does not."""
    stop.set()
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + sys)."""
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def figures(rep: dict[str, Any], server_cores: float) -> dict[str, Any]:
    """One phase's figures over its steady window."""
    a, b = rep["first"], rep["last"]
    wall, cpu = b["wall"] - a["wall"], b["cpu"] - a["cpu"]
    n = b["analysed"] - a["analysed"]
    rx = {c: (b["frames"][c] - a["frames"][c]) / wall for c in b["frames"]}
    expected = len(rx) * FPS * wall
    return {"wall": wall, "cpu": cpu, "n": n, "fps": n / wall, "per_core": n / cpu if cpu else 0.0,
            "cores": cpu / wall, "ms": 1000 * cpu / n if n else float("nan"),
            "rx_min": min(rx.values()), "rx_mean": sum(rx.values()) / len(rx),
            "dropped": max(0.0, expected - n), "undelivered": max(0.0, expected - sum(rx.values()) * wall),
            "skipped": b["skipped"] - a["skipped"], "errors": b["decode_errors"] - a["decode_errors"],
            "reconnects": b["reconnects"] - a["reconnects"], "published": b["published"] - a["published"],
            "worker_errors": b["worker_errors"], "states": b["states"],
            "rss": max(rep["rss_hwm"], rep["rss_sampled"]) / 2**20, "server_cores": server_cores,
            "threads": {k: b["threads"][k] - a["threads"][k] for k in b["threads"]},
            "stages": {k: b["stages"][k] - a["stages"][k] for k in STAGES}, "warm_s": rep["warm_s"]}


def row(name: str, f: dict[str, Any]) -> str:
    """One line of the table."""
    return (f"{name:<18} {f['rx_min']:4.2f}/{f['rx_mean']:4.2f} {f['fps']:6.1f} {f['cpu']:6.1f} {f['cores']:5.2f}"
            f" {f['ms']:6.2f} {f['per_core']:8.1f} {f['dropped']:5.0f} ({f['skipped']:>3} skipped,"
            f" {f['undelivered']:3.0f} undelivered) {f['errors']:3} {f['reconnects']:3} {f['rss']:6.0f} MB"
            f" {f['server_cores']:5.2f}")


def where(f: dict[str, Any]) -> list[str]:
    """Where the edge CPU of the analytics phase goes, in ms of CPU per analysed frame."""
    per = lambda s: 1000 * s / f["n"] if f["n"] else 0.0  # noqa: E731
    th, st = f["threads"], f["stages"]
    inner = sum(st[k] for k in ("background", "detect", "track", "fall", "activity"))
    worker_rest = th["workers"] - st["health"] - st["analytics"] - st["report"]
    return [f"where the CPU goes (analytics phase, ms CPU per analysed frame; total {f['ms']:.2f}):",
            f"  reader threads (FFmpeg MJPEG decode, BGR, newest-frame hand-over) {per(th['readers']):6.2f}",
            f"  worker threads {per(th['workers']):6.2f} = health {per(st['health']):.2f}"
            f" + analytics {per(st['analytics']):.2f} (background/MOG2 {per(st['background']):.2f},"
            f" detect {per(st['detect']):.2f}, track {per(st['track']):.2f}, fall {per(st['fall']):.2f},"
            f" activity {per(st['activity']):.2f}, resize and the rest {per(st['analytics'] - inner):.2f})"
            f" + reporter {per(st['report']):.2f} + loop {per(worker_rest):.2f}",
            f"  other threads (FFmpeg's own, outbox, sampler, main) {per(th['other']):6.2f}"]


def run_phase(mode: str, info: dict[str, Any], server_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """One edge phase in its own process; the sim server's CPU share alongside."""
    s0, t0 = cpu_s(server_pid), time.perf_counter()
    fall_url = info["fall_url"] if args.serve == "live" and mode == "analytics" else None
    rep = run_child(edge_phase, mode, info["urls"], fall_url, args.warmup, args.seconds,
                    args.profile and mode == "analytics")
    f = figures(rep, (cpu_s(server_pid) - s0) / (time.perf_counter() - t0))
    f["profile"], f["events"] = rep["profile"], rep["events"]
    return f


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0, help="steady window per phase (default 30)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after every camera's first frame (5)")
    ap.add_argument("--quick", action="store_true", help="10 s windows, 3 s warm-up")
    ap.add_argument("--serve", choices=("live", "clip"), default="live",
                    help="live: scenes rendered, codec round-tripped and JPEG-encoded in real time by the sim "
                         "server, scripts looped (default); clip: each scene pre-rendered once, then looped "
                         "(for a machine too busy to render 60 frames/s)")
    ap.add_argument("--profile", action="store_true", help="cProfile the analysis workers (slows them)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.warmup = 10.0, 3.0
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores;"
          f" the machine may be shared)")
    started = time.perf_counter()
    server, stop, info = start_server(args.serve)
    try:
        how = (f"pre-rendered clips of {min(c for _, c in SCENES.values()):.0f}-"
               f"{max(c for _, c in SCENES.values()):.0f} s looped (made in {info['prepare_s']:.1f} s)"
               if args.serve == "clip" else "rendered and encoded live, scripts looped")
        print(f"sim cameras: {len(SCENES)} x {SIZE[0]}x{SIZE[1]} at {FPS:g} fps, MJPEG over 127.0.0.1 from a separate"
              f" process (pid {server.pid}), {how}")
        print("scenes: " + ", ".join(f"{c} {s}" for c, (s, _) in sorted(SCENES.items()))
              + (f"; and {FALL_CAMERA}: someone walks in and falls {FALL_WALK_S:g} s into the analytics window"
                 " (live change, POST /condition from the edge process)" if args.serve == "live" else ""))
        print(f"edge: edge.cameras.manager.Cameras for site hq of config/facility.yaml, clock fixed at"
              f" {NIGHT:%H:%M} UTC (01:00 at the site: night); {args.seconds:g} s window per phase after every camera's"
              f" first frame + {args.warmup:g} s; each phase a fresh process")
        results = {mode: run_phase(mode, info, server.pid, args) for mode in ("decode", "analytics")}
    finally:
        stop_server(server, stop)
    print(f"{'phase':<18} {'rx/cam':>9} {'an/s':>6} {'CPU s':>6} {'cores':>5} {'ms/fr':>6} {'fr/CPU-s':>8}"
          f" dropped vs {FPS:g} fps x {len(SCENES)}            dec.err recon. peak RSS  server cores")
    dec, ana = results["decode"], results["analytics"]
    print(row("decode only", dec))
    print(row("decode + analytics", ana))
    print(f"analysis cost: {ana['ms']:.2f} ms CPU per frame with analytics / {dec['ms']:.2f} ms decode only"
          f" = ratio {ana['ms'] / dec['ms']:.2f} (analysis alone {ana['ms'] - dec['ms']:.2f} ms per frame)")
    print(f"analytics phase: {ana['fps']:.1f} analysed frames/s wall-clock ({len(SCENES) * FPS:g} asked),"
          f" {ana['cores']:.2f} of a core ({100 * ana['cores'] / (os.cpu_count() or 1):.0f} % of the machine),"
          f" {ana['published']} envelopes to the outbox, {ana['worker_errors']} errors in the workers,"
          f" camera states {'/'.join(ana['states'])}")
    started_events = ", ".join(f"{c} {'+'.join(sorted(set(k)))} x{len(k)}" for c, k in sorted(ana["events"].items()))
    print(f"events started over the analytics phase (warm-up included): {started_events or 'none'}")
    for line in where(ana):
        print(line)
    keeps = min(dec["rx_mean"], ana["rx_mean"]) >= 0.95 * FPS
    print(f"sim server keeps up (>= {0.95 * FPS:.2f} frames/s per camera delivered): "
          + ("yes" if keeps else "NO (dropped frames are the server's; try --serve clip)"))
    print(f"target >= {TARGET_PER_CORE:g} analysed frames/s per core: {ana['per_core']:.1f}:"
          f" {'PASS' if ana['per_core'] >= TARGET_PER_CORE else 'MISS'}")
    print(f"target edge peak RSS <= {TARGET_RSS_MB:g} MB: {ana['rss']:.0f} MB:"
          f" {'PASS' if ana['rss'] <= TARGET_RSS_MB else 'MISS'}")
    if ana["profile"]:
        print("cProfile of the workers (thread CPU time; figures above are slowed by it):\n" + ana["profile"])
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; run took"
          f" {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"camera_throughput: {exc or 'interrupted'}", file=sys.stderr)
        sys.exit(1)
