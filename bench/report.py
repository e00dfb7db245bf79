"""The results table: figure, value, baseline, ratio, target, met; printed on
the terminal and written to docs/performance.md with a description of the
machine and of how to reproduce the run."""

from __future__ import annotations

import datetime
import os
import platform
import re
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.ledger import Ledger
from bench.procs import ROOT

BEGIN = "<!-- bench:begin (written by python -m bench; edit outside these markers) -->"
END = "<!-- bench:end -->"
MIB = 1024 * 1024


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "MiB":
        return f"{value / MIB:,.1f} MiB"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "us":
        return f"{value:,.0f} µs"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f}{unit}"


@dataclass
class Row:
    figure: str
    value: float | None
    unit: str
    baseline: float | None
    baseline_name: str
    target: str
    met: bool | None  # None: no target, or not measurable
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def cells(self) -> list[str]:
        base = fmt(self.baseline, self.unit)
        if self.baseline_name:
            base = f"{base} ({self.baseline_name})"
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}"
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        return [self.figure, fmt(self.value, self.unit), base, ratio, self.target, met]


@dataclass
class Results:
    mode: str
    argv: list[str]
    rows: list[Row] = field(default_factory=list)
    ledgers: list[Ledger] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown lines
    skipped: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)
    data: dict[str, Any] = field(default_factory=dict)  # for the plots

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "argv": self.argv,
            "rows": [asdict(r) | {"ratio": r.ratio} for r in self.rows],
            "ledgers": [asdict(ledger) | {"ok": ledger.ok} for ledger in self.ledgers],
            "skipped": self.skipped,
        }


HEADERS = ["figure", "value", "baseline", "ratio", "target", "met"]


def text_table(rows: list[Row]) -> str:
    cells = [HEADERS] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join(
        [line(headers), "|" + "|".join("---" for _ in headers) + "|", *map(line, rows)]
    )


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "unknown"
    match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    if match:
        mem = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB"
    pinned = os.environ.get("ESPF_BENCH_COMMIT")
    commit = pinned or _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = "" if pinned else _run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"])
    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("nproc", str(os.cpu_count())),
        ("CPU", cpu),
        ("memory", mem),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("espf commit", commit + (" (with uncommitted changes in src/)" if dirty else "")),
    ]


def _busy(results: Results) -> list[list[str]]:
    before, after = results.data.get("busy_before"), results.data.get("busy_after")
    if before is None or after is None:
        return []
    return [
        [
            "other work on the machine",
            f"{before:.2f} cores busy before the run, {after:.2f} after "
            "(the ingest details show it step by step)",
        ]
    ]


def terminal(results: Results) -> str:
    parts = [text_table(results.rows), "", "Ledger:"]
    parts += [
        f"  {'ok ' if lg.ok else 'FAIL'} {lg.scenario}: {lg.line()}" for lg in results.ledgers
    ]
    parts += [f"  skipped: {s}" for s in results.skipped]
    return "\n".join(parts)


def markdown(results: Results, command: str) -> str:
    out = [
        BEGIN,
        "",
        f"## Latest run ({results.mode})",
        "",
        markdown_table(["", ""], [[k, v] for k, v in machine()] + _busy(results)),
        "",
        f"Command: `{command}`",
        "",
        markdown_table(HEADERS, [r.cells() for r in results.rows]),
        "",
    ]
    notes = [f"- {r.figure}: {r.note}" for r in results.rows if r.note]
    if notes:
        out += ["Notes:", "", *notes, ""]
    out += ["### Ledger", ""]
    out += [
        f"- {'ok' if lg.ok else '**FAILED**'}, {lg.scenario}: {lg.line()}" for lg in results.ledgers
    ]
    out += [f"- skipped: {s}" for s in results.skipped]
    out.append("")
    for name, caption in results.images:
        out += [f"![{caption}](img/{name})", "", f"*{caption}*", ""]
    out += ["### Details", "", *results.details, "", END]
    return "\n".join(out)


def write_docs(path: Path, results: Results, command: str, preamble: str) -> None:
    """Replace the generated part of ``path``, keep what people wrote around it."""
    generated = markdown(results, command)
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + generated + tail)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(preamble + "\n" + generated + "\n")
