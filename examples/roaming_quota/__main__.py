"""``python -m examples.roaming_quota``: play the roaming quota story."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from examples.roaming_quota.story import Options, play


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.roaming_quota",
        description="Start espf, the Application and fake billing and HSS services, and play "
        "the roaming quota scenario step by step.",
    )
    parser.add_argument(
        "--month-seconds",
        type=float,
        default=3.0,
        help="seconds until 'the new month' (default 3); 0 schedules the real first of next "
        "month and stops there",
    )
    parser.add_argument(
        "--hss-failures",
        type=int,
        default=1,
        help="the HSS answers 500 this many times first, so espf retries (default 1)",
    )
    parser.add_argument(
        "--no-duplicate", action="store_true", help="do not have espf resend a delivery"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep espf's database and log here (default: a temporary dir)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The story narrates the HSS failures itself; the receiver's traceback
    # of each (what an operator would want in a log) would drown the steps.
    logging.getLogger("espf.receiver").setLevel(logging.CRITICAL)
    play(
        Options(
            month_seconds=args.month_seconds,
            hss_failures=args.hss_failures,
            duplicate=not args.no_duplicate,
            workdir=args.workdir,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
