"""Twin reads: requests/s of GET /api/v1/devices/{id} against a bare Django JSON view, in the same run and server.

Starts `makercloud up` in a scratch data dir to set up a device through the API, then serves the same data dir with
uvicorn and bench-only settings whose urlconf adds /bare. C keep-alive connections hammer each URL for S seconds.

    .venv/bin/python bench/twin_reads.py [--concurrency 32] [--seconds 5] [--postgres]

With --postgres the data lives in a scratch PostgreSQL database (DATABASE_URL, persistent connections as configured).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from invocations_platform import BIN, POSTGRES, Http, Platform, free_port, load, percentile, setup

HERE = Path(__file__).resolve().parent


async def hammer(port: int, token: str, path: str, concurrency: int, seconds: float) -> tuple[float, float, int]:
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors
        http = Http(port, token)
        while time.perf_counter() < end:
            started = time.perf_counter()
            status, _body = await http.request("GET", path)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), percentile(latencies, 50), errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, help=f"a PostgreSQL server (default {POSTGRES})")
    args = parser.parse_args()
    platform = Platform(postgres=args.postgres)
    try:
        [(device_id, _secret)] = asyncio.run(setup(platform))
    finally:
        platform.process.terminate()
        platform.process.wait(10)
    port = free_port()
    env = {**platform.env, "DJANGO_SETTINGS_MODULE": "twin_bench_settings",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([str(BIN / "uvicorn"), "makercloud.config.asgi:application", "--port", str(port),
                               "--lifespan", "off", "--log-level", "warning"], env=env)
    try:
        time.sleep(3)
        results = {}
        urls = (("bare Django JSON view", "/bare"), ("GET /api/v1/devices/{id}", f"/api/v1/devices/{device_id}"))
        for name, path in urls:
            asyncio.run(hammer(port, platform.token, path, 4, 1))  # warm up
            results[name] = asyncio.run(hammer(port, platform.token, path, args.concurrency, args.seconds))
    finally:
        server.terminate()
        server.wait(10)
        platform.stop()
    print(f"twin reads, {args.concurrency} keep-alive connections, {args.seconds:.0f} s each, "
          f"one uvicorn worker, {'PostgreSQL' if args.postgres else 'SQLite'}")
    for name, (rate, p50, errors) in results.items():
        print(f"  {name:28} {rate:7.0f} req/s  p50 {p50:.1f} ms  errors {errors}")
    ratio = results["GET /api/v1/devices/{id}"][0] / results["bare Django JSON view"][0]
    print(f"  twin / bare = {ratio:.2f}")
    print(f"  {load()}")
    sys.exit(0)


if __name__ == "__main__":
    main()
