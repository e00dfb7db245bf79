"""The delivery baseline: a plain aiohttp loop that POSTs the same bodies, with
the same headers, the same number of requests in flight and the same
keep-alive pool size as espf's dispatcher, to the same receiver. No
database, no retries: what HTTP alone costs in Python on this machine.

    python -m bench.baseline_sender PORT COUNT CONCURRENCY CONNECTIONS
"""

from __future__ import annotations

import asyncio
import base64
import sys
from email.utils import formatdate

import aiohttp
import orjson

from bench.procs import LOOPBACK


async def send_all(port: int, count: int, concurrency: int, connections: int) -> None:
    url = f"http://{LOOPBACK}:{port}/espf"
    auth = "Basic " + base64.b64encode(b"espf:secret").decode()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i_event in range(1, count + 1):
        queue.put_nowait(i_event)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(
        connector=connector,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        auto_decompress=False,
    ) as session:

        async def worker() -> None:
            while not queue.empty():
                i_event = queue.get_nowait()
                # Like espf's sender: the body is built per request from the
                # stored variables, and a fresh Date header each time.
                variables = orjson.loads(b'{"i_account": 541, "seq": %d}' % i_event)
                variables["i_event"] = i_event
                variables["i_env"] = 1
                body = orjson.dumps({"event_type": "Custom/Bench", "variables": variables})
                headers = {
                    "Date": formatdate(usegmt=True),
                    "Content-Type": "application/json",
                    "User-Agent": "bench",
                    "Authorization": auth,
                }
                async with session.post(url, data=body, headers=headers) as response:
                    await response.text()
                    if response.status != 200:
                        raise RuntimeError(f"receiver answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def main() -> None:
    port, count, concurrency, connections = (int(a) for a in sys.argv[1:5])
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        runner.run(send_all(port, count, concurrency, connections))


if __name__ == "__main__":
    main()
