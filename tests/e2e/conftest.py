"""Fixtures for end-to-end tests: a recording Application and a running espf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.espf_process import EspfProcess
from tests.e2e.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    application = Receiver().start()
    try:
        yield application
    finally:
        application.stop()


@pytest.fixture
def espf(tmp_path: Path) -> Iterator[EspfProcess]:
    """``espf serve`` on a fresh SQLite file, started and ready."""
    process = EspfProcess(tmp_path).start()
    try:
        yield process
    finally:
        process.stop()
        # Shown by pytest only when the test failed.
        print(process.log_tail(80))
