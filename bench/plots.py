"""Pictures where they say more than the table: ingest latency against the
offered rate and its distribution, the delivery backlog draining over time,
lateness over time, resident memory over time. PNGs for docs/img/."""

from __future__ import annotations

import math
from array import array
from pathlib import Path
from typing import Any

from bench.receiver import load_dump
from bench.report import MIB, Results

COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw(results: Results, out_dir: Path) -> list[tuple[str, str]]:
    """Draw what the run measured; return (file name, caption) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, str]] = []
    for backend in ("sqlite", "postgres"):
        data = results.data.get(f"ingest-{backend}")
        if data:
            images.append(_ingest(data, backend, out_dir))
    if "delivery" in results.data:
        images.append(_delivery(results.data["delivery"], out_dir))
    backlog = results.data.get("backlog", {})
    if any(k in backlog for k in ("sqlite", "postgres")):
        images.append(_lateness(backlog, out_dir))
        images.append(_memory(backlog, out_dir))
    if "soak" in results.data:
        from bench.soak import draw as draw_soak

        path = draw_soak(results.data["soak"], out_dir / "soak.png")
        images.append((path.name, "Soak: database size and p99s minute by minute"))
    return images


def _latencies(path: str) -> list[float]:
    values = array("f")
    values.frombytes(Path(path).read_bytes())
    return sorted(values)


def _ingest(data: dict[str, Any], backend: str, out_dir: Path) -> tuple[str, str]:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for color, key in zip(COLORS, ("bare", "espf"), strict=False):
        system = data[key]
        steps = sorted(system["steps"].items())
        rates = [r for r, _ in steps]
        for pct, style in (("p50", ":"), ("p99", "-")):
            values = [s[f"{pct}_ms"] if s[f"{pct}_ms"] is not None else 10_000 for _, s in steps]
            left.plot(
                rates, values, style, marker="o", color=color, label=f"{system['label']} {pct}"
            )
    left.axhline(100, color="grey", linewidth=0.8)
    left.text(left.get_xlim()[0], 110, " p99 limit 100 ms", color="grey", fontsize=8)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("offered rate (requests/s, open loop)")
    left.set_ylabel("latency (ms)")
    left.set_title("latency against offered rate")
    left.legend(fontsize=8)
    rate = data["espf"]["max"]
    if rate:
        for color, key in zip(COLORS, ("bare", "espf"), strict=False):
            step = data[key]["steps"].get(rate)
            if not step:
                continue
            lat = _latencies(step["samples_path"])
            if not lat:
                continue
            ys = [i / len(lat) for i in range(len(lat))]
            right.plot(lat, ys, color=color, label=data[key]["label"])
        right.set_xscale("log")
        right.set_xlabel("latency (ms)")
        right.set_ylabel("share of requests answered within")
        right.set_title(f"latency distribution at {rate:,}/s offered")
        right.grid(True, which="both", alpha=0.3)
        right.legend(fontsize=8)
    fig.tight_layout()
    name = f"ingest-{backend}.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    title = "SQLite, one process" if backend == "sqlite" else "PostgreSQL, two API processes"
    return name, f"Ingest, {title}: p50/p99 against the offered rate, and the latency CDF"


def _delivery(data: dict[str, Any], out_dir: Path) -> tuple[str, str]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    count = data["count"]
    for color, (label, prefix) in zip(COLORS, data["dumps"].items(), strict=False):
        arrived, _, _ = load_dump(prefix)
        if not arrived:
            continue
        t0 = arrived[0]
        step = max(1, len(arrived) // 400)
        xs = [arrived[i] - t0 for i in range(0, len(arrived), step)]
        ys = [count - i for i in range(0, len(arrived), step)]
        ax.plot(xs, ys, color=color, label=label)
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("events not yet delivered")
    ax.set_title(f"Delivery: backlog of {count:,} due events draining")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    name = "delivery-backlog.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name, "Delivery: backlog over time, espf against the plain aiohttp loop"


def _lateness(backlog: dict[str, Any], out_dir: Path) -> tuple[str, str]:
    plt = _pyplot()
    backends = [b for b in ("sqlite", "postgres") if b in backlog]
    fig, axes = plt.subplots(len(backends), 2, figsize=(12, 4 * len(backends)), squeeze=False)
    for row, backend in zip(axes, backends, strict=True):
        over_time, cdf = row
        for color, key in zip(COLORS, ("none", "many"), strict=False):
            run = backlog[backend][key]
            arrived, _, lateness = load_dump(run["dump"])
            points = [(a, v) for a, v in zip(arrived, lateness, strict=True) if not math.isnan(v)]
            if not points:
                continue
            t0 = points[0][0]
            # Every point would make a heavy PNG; keep the slowest of each
            # group of ten, so the peaks stay visible.
            if len(points) > 6000:
                points = [
                    max(points[i : i + 10], key=lambda p: p[1]) for i in range(0, len(points), 10)
                ]
            over_time.scatter(
                [a - t0 for a, _ in points],
                [max(v, 0.1) for _, v in points],
                s=2,
                color=color,
                alpha=0.5,
                label=run["label"],
            )
            values = sorted(v for v in lateness if not math.isnan(v))
            cdf.plot(
                values,
                [i / len(values) for i in range(len(values))],
                color=color,
                label=run["label"],
            )
        for ax in row:
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8, markerscale=4)
        over_time.set_yscale("log")
        over_time.set_xlabel("seconds since the first event of the stream arrived")
        over_time.set_ylabel("lateness (ms)")
        over_time.set_title(f"{backend}: lateness of each event, 1,000/s stream")
        cdf.set_xscale("symlog", linthresh=1)
        cdf.set_xlabel("lateness (ms): arrival minus start_time")
        cdf.set_ylabel("share of events")
        cdf.set_title(f"{backend}: lateness distribution")
    fig.tight_layout()
    name = "lateness.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name, "Lateness over time and its distribution, nothing pending against the backlog"


def _memory(backlog: dict[str, Any], out_dir: Path) -> tuple[str, str]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    color_index = 0
    for backend in ("sqlite", "postgres"):
        if backend not in backlog:
            continue
        for key, style in (("none", ":"), ("many", "-")):
            run = backlog[backend][key]
            samples = run["memory_samples"]
            for n, role in enumerate(run["roles"]):
                ax.plot(
                    [t for t, _ in samples],
                    [v[n] / MIB for _, v in samples],
                    style,
                    color=COLORS[(color_index + n) % len(COLORS)],
                    label=f"{run['label']}: espf {role}",
                )
        color_index += 2
    ax.axhline(128, color="grey", linewidth=0.8)
    ax.set_xlabel("seconds into the 1,000/s stream")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_title("Resident memory of the service processes")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    name = "memory.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name, "Resident memory over time, nothing pending (dotted) and with the backlog"
