"""The pipeline layer: everything that is the same for every task — plugin registry and contract (registry,
stages), parameters and config (params, settings), datasets (data: fetch, formats, catalogue, load), running a stage
(runner, seeding, gpus, records, io, checkpoints, progress), the training engine (engine), figures saved with their
captions (plotting), claims and the report (claims, report, docs), and the CLI. It imports neither the shared
science nor a task (tests/test_layers.py); both build on it."""
