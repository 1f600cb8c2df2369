"""`make bench`: scanner throughput, --check throughput, cold start. Prints a table of medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from codemod.dockerfile.scanner import parse  # noqa: E402

from generate import generate  # noqa: E402

RUNS = 3


def median_time(fn, runs: int = RUNS) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "2000"))
    rows: list[tuple[str, str]] = [("cores", str(os.cpu_count()))]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        files = generate(root, n)
        blobs = [f.read_bytes() for f in files]
        size = sum(len(b) for b in blobs)

        t = median_time(lambda: [parse(b) for b in blobs])
        rows.append((f"scanner, {n} files", f"{n / t:,.0f} files/s, {size / t / 1e6:.2f} MB/s"))

        exe = [sys.executable, "-m", "codemod.cli"]
        t = median_time(lambda: subprocess.run([*exe, "--check", str(root)], capture_output=True), runs=RUNS)
        rows.append((f"--check, {n} files", f"{n / t:,.0f} files/s ({t:.2f} s)"))

        one = files[4].parent
        t = median_time(lambda: subprocess.run([*exe, str(one)], capture_output=True), runs=5)
        rows.append(("cold start, one-file dry run", f"{t * 1000:.0f} ms"))
        t = median_time(lambda: subprocess.run([*exe, "--version"], capture_output=True), runs=5)
        rows.append(("cold start, --version", f"{t * 1000:.0f} ms"))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  median of runs")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
