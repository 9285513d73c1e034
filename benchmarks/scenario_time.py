"""Wall time and peak memory of a scenario, from an empty model store and warm; CLI start-up.

Runs ``semcom run SCENARIO`` twice in child processes with a fresh
``SEMCOM_CACHE``: first from the empty store (training and hardening
included), then warm (every model from the store, only the sweeps), and
checks that both give the same ``results.json`` numbers. Peak RSS is each
child's own (``wait4``). Then times ``semcom --help``.

    python benchmarks/scenario_time.py                         # scenarios/jammed_mnist.yaml
    python benchmarks/scenario_time.py scenarios/x.yaml --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``args``; return (wall seconds, peak RSS in GB) of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr.read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024**2  # Linux: kB


def numbers(run_dir: Path) -> list:
    doc = json.loads((run_dir / "results.json").read_text())
    return [p["metrics"] for p in doc["points"]] + [a["value"] for a in doc["aaddc"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/jammed_mnist.yaml")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("semcom")  # the console script a user types
    semcom = [str(script)] if script.exists() else [sys.executable, "-m", "semcom.cli"]
    work = Path(tempfile.mkdtemp(prefix="semcom-bench-"))
    env = {**os.environ, "SEMCOM_CACHE": str(work / "cache")}
    try:
        for label in ("empty store", "warm store"):
            out = work / label.replace(" ", "_")
            wall, rss = run_child([*semcom, "run", args.scenario, "--out", str(out), "--device", args.device], env)
            print(f"{args.scenario} ({label}): {wall:6.1f} s, peak RSS {rss:.2f} GB", flush=True)
        same = numbers(work / "empty_store") == numbers(work / "warm_store")
        print(f"identical results.json numbers: {same}")
        walls = [run_child([*semcom, "--help"], env)[0] for _ in range(3)]
        print(f"semcom --help: {min(walls):.2f} s (best of 3)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
