"""Parameters of the `gillespie` task, declared once (defaults = the default CPU run)."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from kx_tasks.core.params import Params
from kx_tasks.core.stages import condition
from kx_tasks.gillespie.exact import EXACT

FSP_SDS = 10  # the finite-state projection box must reach this many standard deviations above each mean


class GillespieConfig(Params):
    n_trajectories: int = Field(2000, ge=2, description="independent trajectories of the ensemble")
    t_end: float = Field(
        100.0, gt=0, description="simulated time of the ensemble (the post's model relaxes on a time scale of 1)"
    )
    n_times: int = Field(1001, ge=2, description="recorded time points on [0, t_end]")
    burn_in: float = Field(20.0, ge=0, description="stationary samples are taken from here on …")
    spacing: float = Field(
        10.0, gt=0, description="… every `spacing` time units (≫ the relaxation time, so samples are independent)"
    )
    event_t_end: float = Field(
        2000.0,
        gt=0,
        description="length of the single event-level trajectory behind the histograms and the trajectory plot",
    )
    fsp_max_count: int = Field(
        200,
        ge=1,
        description="cap of the finite-state-projection box (exact distribution; networks of ≤ 2 species; "
        "skipped where the counts exceed it)",
    )
    tau_eps: float = Field(0.03, gt=0, lt=1, description="tau-leaping's error control ε (Cao et al.'s default)")
    eps_sweep: tuple[float, ...] = Field(
        (0.001, 0.003, 0.01, 0.03, 0.1),
        description="`tau.*` variants also run an ensemble at each of these ε and with the exact direct method, "
        "timed side by side in one job (error and events/s vs ε); empty: no sweep",
    )
    sweep_trajectories: int = Field(
        500, ge=2, description="trajectories of each ensemble in the ε sweep (on [0, t_end], same grid)"
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.burn_in >= self.t_end:
            raise ValueError(f"burn_in: must be < t_end ({self.burn_in} >= {self.t_end})")
        if any(not 0 < e < 1 for e in self.eps_sweep):
            raise ValueError(f"eps_sweep: every ε must be in (0, 1), got {list(self.eps_sweep)}")
        if self.event_t_end <= self.burn_in:
            raise ValueError(f"event_t_end: must exceed burn_in ({self.event_t_end} <= {self.burn_in})")
        return self


def check_run(variant: str, cfg: GillespieConfig, artefacts: dict) -> None:
    """Before any job: where the exact master-equation solution is computed (networks of ≤ 2 species with known
    stationary moments, counts in the tens), the FSP box must hold the stationary law (mean + 10 sd per species);
    else the comparison with the exact law would be skipped for a reason the config could have avoided."""
    network = condition(variant)
    moments = EXACT.get(network)
    if moments is None or network.endswith("_x100"):  # counts in the thousands: no FSP by design
        return
    for species in ("m", "n"):
        need = math.ceil(moments[f"mean.{species}"] + FSP_SDS * math.sqrt(moments[f"var.{species}"]))
        if cfg.fsp_max_count < need:
            raise ValueError(
                f"fsp_max_count: {cfg.fsp_max_count} cannot hold the stationary law of {network} (species "
                f"{species}: mean {moments[f'mean.{species}']:g}, sd {math.sqrt(moments[f'var.{species}']):.3g}; "
                f"needs >= {need})"
            )
