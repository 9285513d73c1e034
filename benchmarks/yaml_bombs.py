"""What refusing a YAML alias bomb and deep nesting costs, next to validating a shipped scenario.

Each document is validated by ``semcom validate`` in a fresh process (the way a user meets it);
the figures are the wall time and the peak resident memory of that process, and their difference
to validating ``scenarios/jammed_mnist.yaml`` (the reference, measured the same way, in the same
run). Goal (issue 18): within 1 s and 100 MB of the reference.

    python benchmarks/yaml_bombs.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]


def bomb(levels: int = 10, fanout: int = 9) -> str:
    lines = ["metrics:", "  - &l0 [psnr, psnr, psnr, psnr, psnr, psnr, psnr, psnr, psnr]"]
    for i in range(1, levels):
        lines.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def validate(path: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of `semcom validate path` in a new process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "semcom", "validate", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        docs = {"bomb (10 levels of 9 aliases)": bomb(), "bomb, 11 levels": bomb(11),
                "20,000 nested brackets": "metrics: " + "[" * 20_000 + "]" * 20_000 + "\n"}
        paths = {}
        for i, (name, text) in enumerate(docs.items()):
            paths[name] = Path(tmp) / f"doc{i}.yaml"
            paths[name].write_text(text)
        ref_wall, ref_rss, _ = validate(ROOT / "scenarios" / "jammed_mnist.yaml")
        print(f"reference, jammed_mnist.yaml: exit 0, {ref_wall:.2f} s, {ref_rss:.0f} MB")
        for name, path in paths.items():
            wall, rss, code = validate(path)
            print(f"{name} ({len(docs[name]):,} B): exit {code}, {wall:.2f} s ({wall - ref_wall:+.2f} s), "
                  f"{rss:.0f} MB ({rss - ref_rss:+.0f} MB vs the reference)")

if __name__ == "__main__":
    main()
