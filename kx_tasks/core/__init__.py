"""The pipeline layer: everything that is the same for every task — plugin registry and contract (registry,
stages), parameters and config (params, settings), running a stage (runner, seeding, gpus, records, io,
checkpoints, progress), the training engine (engine), claims and the report (claims, report, docs), and the CLI.
It imports no task; tasks and the shared layer build on it."""
