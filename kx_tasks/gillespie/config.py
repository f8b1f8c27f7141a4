"""Parameters of the `gillespie` task (one frozen dataclass, defaults = the default CPU run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GillespieConfig:
    # Independent trajectories of the ensemble; stationary statistics pool them.
    n_trajectories: int = 2000
    # Simulated time of the ensemble (the post's model relaxes on a time scale of 1).
    t_end: float = 100.0
    # Recorded time points on [0, t_end].
    n_times: int = 1001
    # Samples for stationary moments are taken from burn_in on, every `spacing` time units (≫ the relaxation
    # time, so samples of one trajectory are independent to ~e^-spacing).
    burn_in: float = 20.0
    spacing: float = 10.0
    # Length of the single event-level trajectory behind the histograms and the trajectory plot.
    event_t_end: float = 2000.0
    # Finite-state-projection box for the exact distribution (per species, networks of <= 2 species only).
    fsp_max_count: int = 200

    def check(self) -> None:
        if self.n_trajectories < 2 or self.n_times < 2:
            raise ValueError("n_trajectories and n_times must be >= 2")
        if not 0 <= self.burn_in < self.t_end or self.spacing <= 0:
            raise ValueError(f"need 0 <= burn_in < t_end and spacing > 0 (burn_in={self.burn_in}, t_end={self.t_end})")
        if self.event_t_end <= self.burn_in:
            raise ValueError(f"event_t_end ({self.event_t_end}) must exceed burn_in ({self.burn_in})")
