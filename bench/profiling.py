"""Sampling the service with py-spy while a scenario runs, and boiling the
samples down to the frames that take the time.

py-spy attaches to a running process without changing it (``--nonblocking``:
it does not even pause it to read the stacks). Install it with
``.venv/bin/pip install py-spy``; without it, ``--profile`` is skipped.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.procs import BIN

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    found = BIN / "py-spy"
    if found.exists():
        return str(found)
    return shutil.which("py-spy")


class Recording:
    def __init__(self, pid: int, out: Path, seconds: float, rate: int = 250) -> None:
        exe = py_spy()
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        if exe is None:
            print("py-spy is not installed: no profile (pip install py-spy)", file=sys.stderr)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--duration",
                str(max(1, int(seconds))),
                "--format",
                "raw",
                "--nonblocking",
                # Only the thread holding the GIL: where this GIL-bound process
                # spends its one core. Threads waiting for the disk (SQLite's
                # writer in fsync) or in epoll do not hold it.
                "--gil",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(out.with_suffix(".log"), "wb"),  # noqa: SIM115
        )

    def finish(self) -> str:
        if self.proc is None:
            return ""
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()
        return summarize(self.out) if self.out.exists() else ""


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match.group("file")
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match.group('func')} ({file})"


def summarize(path: Path, top: int = 15) -> str:
    """Top frames by self time and by inclusive time, as shares of all samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        count = int(match.group("count"))
        frames = [_frame_name(f) for f in match.group("stack").split(";") if f]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples holding the GIL", "self time:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines.append("inclusive time:")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)
