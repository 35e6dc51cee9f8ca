"""Run a command as a child process and measure it: wall time and peak resident memory.

Peak RSS comes from the kernel's accounting of the child (``wait4`` rusage ``ru_maxrss``: the
largest resident set of the child, or of any descendant it waited for), so no sampling can miss
a short peak. The measured commands are single processes (DuckDB and the Rust readers use
threads, not processes), so that is the peak of the whole process tree.

One trap: Linux carries the parent's high-water mark into ``ru_maxrss`` across ``exec``, so a
child started straight from this (large) Python process would never report less than the
parent's own peak. The command is therefore started by a small launcher process
(``python -m bench.measure --launch``) that forks it: the child's count starts from the
launcher's few megabytes, and the launcher times it and reports its rusage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: list[str], timeout: float | None = None, env: dict | None = None) -> Measured:
    scratch = REPO / "bench" / "out"
    scratch.mkdir(parents=True, exist_ok=True)
    out_path = scratch / f".child-{os.getpid()}.out"
    err_path, report_path = out_path.with_suffix(".err"), out_path.with_suffix(".json")
    child_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        ),
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    launcher = [sys.executable, "-m", "bench.measure", "--launch", str(report_path), "--"]
    report_path.unlink(missing_ok=True)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(launcher + cmd, stdout=out, stderr=err, cwd=REPO, env=child_env, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # the launcher's own session: the launcher and the command
            proc.wait()
        wall = time.perf_counter() - started
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        report = {"seconds": wall, "maxrss_kb": 0, "returncode": proc.returncode or -9}
    result = Measured(
        round(report["seconds"], 3),
        round(report["maxrss_kb"] / 1024, 1),
        report["returncode"],
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )
    for path in (out_path, err_path, report_path):
        path.unlink(missing_ok=True)
    return result


def _launch(report: str, cmd: list[str]) -> int:
    """Fork and exec ``cmd``, wait for it, write {seconds, maxrss_kb, returncode} to ``report``."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: a fresh rusage, the launcher's small memory as starting point
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    maxrss_kb = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # macOS: bytes
    code = os.waitstatus_to_exitcode(status)
    Path(report).write_text(json.dumps({"seconds": seconds, "maxrss_kb": maxrss_kb, "returncode": code}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--launch" and sys.argv[3] == "--":
        sys.exit(_launch(sys.argv[2], sys.argv[4:]))
    sys.exit("usage: python -m bench.measure --launch REPORT.json -- COMMAND...")
