"""One training stage or artefact build in its own process, so that test_resume.py can SIGKILL it.

    python stage_job.py SPEC.json

SPEC: {"kind": "stage" | "artefact", "name": task or artefact, "variant", "seed", "stage", "inputs": {name: path},
"out": path, "config": the kx config (smoke.yaml with the test's overrides)}. With KX_KILL_AFTER_SAVES=N in the
environment the process kills itself right after its N-th checkpoint (kx_tasks.core.checkpoints).
"""

import json
import logging
import sys
from pathlib import Path

from kx_tasks.core import runner, settings
from kx_tasks.core.registry import discover, discover_artefacts


def main(spec: dict) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    inputs = {k: Path(v) for k, v in spec["inputs"].items()}
    if spec["kind"] == "artefact":
        artefact = discover_artefacts()[spec["name"]]
        run = settings.make_artefact_run(spec["config"], artefact, spec["key"])
        runner.build_artefact(artefact, run, inputs, spec["out"])
    else:
        task = discover()[spec["name"]]
        run = settings.make_run(spec["config"], task, spec["variant"], spec["seed"], spec["stage"])
        runner.run_stage(task, spec["stage"], run, inputs, spec["out"])


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
