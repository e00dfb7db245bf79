"""``python -m bench``: run the benchmarks, print the table, write
docs/performance.md and docs/img/*.png.

    .venv/bin/python -m bench            # quick run: small sizes, a few minutes
    .venv/bin/python -m bench --full     # the sizes the targets name (~12 minutes)

Every process under test runs on its own (``espf serve``/``api``/``dispatcher``,
the receiver, the load generator, the baselines), on loopback only. The exit
status is non-zero if any ledger does not balance: a lost event fails the run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import traceback
from pathlib import Path

from bench import config, db, procs
from bench.procs import ROOT, log
from bench.report import Results, terminal, write_docs

DOCS = ROOT / "docs" / "performance.md"
IMAGES = ROOT / "docs" / "img"
MATPLOTLIB = "matplotlib>=3.8"

PREAMBLE = """# Performance

What espf sustains on a small machine, each figure beside a baseline measured
in the same run: the machines are shared and noisy, so the ratio is the
figure to read, the absolute number says only what this machine did that day.

Reproduce with `.venv/bin/python -m bench --full` (about 12 minutes on 2 cores; `python
-m bench` alone is a quick run with smaller sizes). The command installs
matplotlib (the optional dependency group `bench`) if it is missing, starts
every process it measures on loopback, and rewrites the part of this file
between the markers below; text outside the markers is kept. Raw results,
logs and profiles go to `bench/results/` (not committed).
"""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (the default)")
    size.add_argument("--full", action="store_true", help="the sizes the targets name")
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite,postgres"
    )
    parser.add_argument(
        "--scenarios",
        default="ingest,delivery,backlog,console",
        help="comma-separated: ingest, delivery, backlog (lateness, memory, start-up), "
        "console (page times with a large history), "
        "schedules (memory with many, a burst due at one instant; not in the default set), "
        "soak (retention 1 min against none, both backends side by side; 15 minutes with "
        "--full), limits (max_rate and max_in_flight with real dispatchers, ~2 min per "
        "backend), adaptive (back-off from a 503-ing Application; draws "
        "docs/img/adaptive-rate.png), breaker (an Application down for 60 s); the last four "
        "not in the default set",
    )
    parser.add_argument("--pending", type=int, help="events pending over the next hours")
    parser.add_argument("--deliveries", type=int, help="events due at once for delivery")
    parser.add_argument("--schedules", type=int, help="schedules for the memory figure")
    parser.add_argument("--schedule-burst", type=int, help="schedules due at one instant")
    parser.add_argument("--step-seconds", type=float, help="measured seconds per ingest step")
    parser.add_argument("--stream-seconds", type=float, help="seconds of the 1,000/s stream")
    parser.add_argument(
        "--profile", action="store_true", help="sample the service with py-spy during each scenario"
    )
    parser.add_argument(
        "--working-tree",
        action="store_true",
        help="measure src/ as it is now, uncommitted changes included; by default the run "
        "measures a snapshot of the committed HEAD, so that commits landing meanwhile "
        "cannot change the code under test half-way through",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    parser.add_argument(
        "--no-docs", action="store_true", help="do not rewrite docs/performance.md and docs/img"
    )
    return parser.parse_args(argv)


def _ensure_matplotlib() -> bool:
    if importlib.util.find_spec("matplotlib") is not None:
        return True
    log(f"matplotlib is missing: installing {MATPLOTLIB} (the optional group 'bench')")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", MATPLOTLIB], check=False
    )
    if done.returncode == 0:
        importlib.invalidate_caches()
        return True
    log(
        "could not install matplotlib; the run goes on without pictures. Install it with "
        f"{sys.executable} -m pip install -e '.[bench]'"
    )
    return False


def _pin_to_head(work_dir: Path, argv: list[str]) -> None:
    """Re-run this command with espf imported from a snapshot of HEAD's src/:
    the run, and every process it starts, measure one commit."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    snapshot = work_dir / f"src-{commit}"
    snapshot.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", "src"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive, check=True)
    env = {
        **os.environ,
        "ESPF_BENCH_WORK_DIR": str(work_dir),
        "ESPF_BENCH_COMMIT": commit,
        # Ahead of the editable install's path to the working tree.
        "PYTHONPATH": os.pathsep.join([str(snapshot / "src"), str(ROOT)]),
    }
    os.execve(sys.executable, [sys.executable, "-m", "bench", *argv], env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    work_dir = Path(os.environ.get("ESPF_BENCH_WORK_DIR") or ROOT / "bench" / "results" / stamp)
    if not args.working_tree and "ESPF_BENCH_COMMIT" not in os.environ:
        _pin_to_head(work_dir, argv)
    import espf

    log(f"measuring espf from {Path(espf.__file__).parent.parent}")
    cfg = (config.full if args.full else config.quick)(work_dir)
    cfg.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    cfg.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for name, value in (
        ("pending", args.pending),
        ("deliveries", args.deliveries),
        ("schedules", args.schedules),
        ("schedule_burst", args.schedule_burst),
        ("step_s", args.step_seconds),
        ("stream_s", args.stream_seconds),
    ):
        if value is not None:
            setattr(cfg, name, value)
    cfg.profile = args.profile
    plots = not args.no_plots and _ensure_matplotlib()
    results = Results(mode=cfg.mode, argv=argv)
    command = shlex.join([".venv/bin/python", "-m", "bench", *results.argv])
    log(
        f"{cfg.mode} run: {', '.join(cfg.scenarios)} on {', '.join(cfg.backends)}; "
        f"work in {work_dir}"
    )

    busy = procs.machine_busy_cores()
    results.data["busy_before"] = busy
    log(f"the machine is busy with {busy:.2f} cores of other work before the run")
    if "postgres" in cfg.backends:
        problem = db.postgres_problem()
        if problem:
            log(f"PostgreSQL skipped: {problem}")
            results.skipped.append(f"PostgreSQL: {problem}")
            cfg.backends.remove("postgres")

    from bench import backlog, console, delivery, ingest, limits, schedules, soak

    scenarios = {
        "ingest": ingest.run,
        "delivery": delivery.run,
        "backlog": backlog.run,
        "schedules": schedules.run,
        "console": console.run,
        "soak": soak.scenario,
        "limits": limits.run_limits,
        "adaptive": limits.run_adaptive,
        "breaker": limits.run_breaker,
    }
    crashed = None
    try:
        for name in cfg.scenarios:
            scenarios[name](cfg, results)
    except KeyboardInterrupt:
        crashed = "interrupted"
    except Exception:
        crashed = traceback.format_exc()
    finally:
        procs.stop_all()
    busy = procs.machine_busy_cores()
    results.data["busy_after"] = busy
    log(f"the machine is busy with {busy:.2f} cores of other work after the run")

    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "results.json").write_text(json.dumps(results.as_json(), indent=1))
    print()
    print(terminal(results))
    if plots and not args.no_docs:
        from bench import plots as plotting

        results.images = plotting.draw(results, IMAGES)
    if not args.no_docs and crashed is None:
        write_docs(DOCS, results, command, PREAMBLE)
        log(f"wrote {DOCS.relative_to(ROOT)}")
    if crashed:
        print(f"\nthe run did not finish: {crashed}", file=sys.stderr)
        return 2
    lost = [lg for lg in results.ledgers if not lg.ok]
    if lost:
        print("\nLEDGER FAILED: events were lost or miscounted:", file=sys.stderr)
        for lg in lost:
            print(f"  {lg.scenario}: {lg.line()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
