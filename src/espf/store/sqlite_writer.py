"""Group commit for SQLite.

All writes go through one thread that owns the only writing connection.
Callers submit small functions; the thread takes every submission waiting in
its queue, runs them in one transaction, commits once (one fsync for all of
them under ``synchronous=FULL``) and only then resolves their futures. While
one commit waits for the disk, the next group gathers, so the batch size
follows the load with no artificial delay. If one function fails, the group
is rolled back and run again with each function in a savepoint, so that one
failing write does not undo its neighbours; the common path pays for no
savepoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

WriteFn = Callable[[sqlite3.Connection], Any]

MAX_GROUP = 512


class _GroupFailed(Exception):
    """A write of a group failed; the group is rolled back and run again apart."""


class _Submission:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: WriteFn, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop):
        self.fn = fn
        self.future = future
        self.loop = loop


_Outcome = tuple["_Submission", Any, BaseException | None]


def _settle(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class GroupCommitWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="espf-sqlite-writer", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def submit(self, fn: WriteFn) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Submission(fn, future, loop))
        return future

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                stopping = False
                while len(group) < MAX_GROUP:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    group.append(more)
                self._commit_group(conn, group)
                if stopping:
                    return
        finally:
            conn.close()

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Submission]) -> None:
        try:
            outcomes = self._run_together(conn, group)
        except _GroupFailed:
            # Some write failed (a constraint, a type deleted meanwhile): run
            # the group again, each write in its own savepoint, so that only
            # that one fails. Rare, so the common path pays for no savepoints.
            try:
                outcomes = self._run_apart(conn, group)
            except Exception as exc:
                outcomes = [(submission, None, exc) for submission in group]
        except Exception as exc:
            # The commit itself failed (disk full, I/O error): nothing of the
            # group is durable, so every caller hears about it.
            outcomes = [(submission, None, exc) for submission in group]
        self._settle_all(outcomes)

    @staticmethod
    def _run_together(conn: sqlite3.Connection, group: list[_Submission]) -> list[_Outcome]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            values = [submission.fn(conn) for submission in group]
        except Exception as exc:
            conn.execute("ROLLBACK")
            if len(group) == 1:
                return [(group[0], None, exc)]
            raise _GroupFailed from exc
        try:
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return [(submission, value, None) for submission, value in zip(group, values, strict=True)]

    @staticmethod
    def _run_apart(conn: sqlite3.Connection, group: list[_Submission]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for submission in group:
                conn.execute("SAVEPOINT w")
                try:
                    value = submission.fn(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    outcomes.append((submission, None, exc))
                else:
                    conn.execute("RELEASE w")
                    outcomes.append((submission, value, None))
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _settle_all(outcomes: list[_Outcome]) -> None:
        by_loop: dict[
            asyncio.AbstractEventLoop,
            list[tuple[asyncio.Future[Any], Any, BaseException | None]],
        ] = {}
        for submission, value, error in outcomes:
            by_loop.setdefault(submission.loop, []).append((submission.future, value, error))
        for loop, results in by_loop.items():
            # A closed loop means that caller is gone: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, results)
