"""The study: scenario schema, runner, jobs, executors, model store."""
