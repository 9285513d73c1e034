"""Where the jobs of a run execute: in this process (default) or as Ray tasks.

A run is three phases of independent, picklable jobs (:mod:`semcom.study.jobs`):
training, receiver hardening, grid points. An executor runs one phase and
yields each job's result as it finishes, so the runner can journal it at once.
Jobs read the big shared objects (image tensors, trained models) by name from
the phase's ``shared`` mapping: in process they are handed over as they are;
Ray puts each one into its object store once and passes tasks references, so a
model reaches every worker, on any node, without a shared file system.

The same scenario gives the same numbers on both executors: every job is
seeded by its configuration alone, and Ray tasks use the driver's number of
torch threads (floating-point sums depend on it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

__all__ = ["JobEnv", "Job", "Executor", "ExecutorError", "InProcessExecutor", "RayExecutor",
           "make_executor", "EXECUTORS"]

EXECUTORS = ("local", "ray")
Finished = Iterator[tuple[int, Any]]
"""``(index of the job, its result)`` in the order the jobs finish."""


@dataclass(frozen=True)
class JobEnv:
    """How jobs run: the model store they share, the torch device, progress bars (None: auto)."""

    store_root: str
    device: str = "cpu"
    progress: bool | None = None


class Job(Protocol):
    """One unit of work; ``needs`` names the shared objects ``run`` reads."""

    @property
    def needs(self) -> tuple[str, ...]: ...

    def run(self, shared: Mapping[str, Any], env: JobEnv) -> Any: ...


class Executor(Protocol):
    def map(self, jobs: Sequence[Job], shared: Mapping[str, Any], env: JobEnv) -> Finished:
        """Run every job; yield ``(index in jobs, result)`` as each one finishes."""
        ...

    def close(self) -> None: ...


class ExecutorError(RuntimeError):
    """The executor asked for cannot run here; ``str`` says why and what to do."""


class InProcessExecutor:
    """Runs the jobs one after another in this process, in order."""

    def map(self, jobs: Sequence[Job], shared: Mapping[str, Any], env: JobEnv) -> Finished:
        for i, job in enumerate(jobs):
            yield i, job.run({name: shared[name] for name in job.needs}, env)

    def close(self) -> None:
        pass


def _run_task(job: Job, env: JobEnv, threads: int, names: tuple[str, ...], *objects: Any) -> Any:
    """A Ray task's body: Ray has already resolved the object references in ``objects``."""
    import torch

    torch.set_num_threads(threads)
    return job.run(dict(zip(names, objects, strict=True)), env)


class RayExecutor:
    """Each job is a Ray task: a local Ray by default, an existing cluster through ``$RAY_ADDRESS``.

    ``workers`` caps the CPUs of a local Ray (ignored when joining a cluster).
    With a CUDA device each task asks Ray for one GPU and uses it as ``cuda``.
    A job's error is re-raised as it was, and the tasks still pending are cancelled.
    """

    def __init__(self, *, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("--executor ray needs Ray: pip install 'semcom[ray]'") from None
        self._ray = ray
        self._address = address or os.environ.get("RAY_ADDRESS") or None
        self._workers = workers
        self._task = None
        self._owns = False

    def _start(self) -> None:
        """Start or join Ray on first use, so that a run refused early starts nothing."""
        import torch

        ray = self._ray
        if not ray.is_initialized():
            try:
                ray.init(address=self._address, num_cpus=None if self._address else self._workers,
                         include_dashboard=False, configure_logging=False)
            except Exception as err:  # noqa: BLE001 - any failure to start or join is one line
                where = f"the Ray cluster at {self._address}" if self._address else "a local Ray"
                raise ExecutorError(f"cannot start {where}: {err}".splitlines()[0]) from None
            self._owns = True
        self._threads = torch.get_num_threads()
        self._task = ray.remote(_run_task)

    def map(self, jobs: Sequence[Job], shared: Mapping[str, Any], env: JobEnv) -> Finished:
        if not jobs:
            return
        if self._task is None:
            self._start()
        ray = self._ray
        gpu = env.device.startswith("cuda")
        env = replace(env, device="cuda" if gpu else env.device, progress=False)
        task = self._task.options(num_cpus=1, num_gpus=1 if gpu else 0)
        names = sorted({n for job in jobs for n in job.needs})
        refs = {name: ray.put(shared[name]) for name in names}  # each object goes to Ray once
        pending = {}
        for i, job in enumerate(jobs):
            needs = tuple(job.needs)
            pending[task.remote(job, env, self._threads, needs, *(refs[n] for n in needs))] = i
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayTaskError as err:
                    cause = err.cause
                    raise (cause if isinstance(cause, Exception) else err) from None
                yield index, result
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def make_executor(name: str, *, workers: int | None = None) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTORS`)."""
    if name == "ray":
        return RayExecutor(workers=workers)
    if name == "local":
        return InProcessExecutor()
    raise ExecutorError(f"--executor must be one of {', '.join(EXECUTORS)}; got {name!r}")
