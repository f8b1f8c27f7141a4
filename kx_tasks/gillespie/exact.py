"""Exact stationary moments of the networks where they are known in closed form (plain data: the config check,
the evaluate stage and the report tables all read them)."""

# Exact stationary moments of the post's model (m ~ Poisson(20); n from the moment equations, which close for this
# linear network: E n = k_n E m / γ_n, Var n = E n (1 + k_n / (γ_m + γ_n)), Cov(m, n) = k_n E m / (γ_m + γ_n)),
# and of the same model with transcription ×100.
EXACT = {
    "gene_expression": {"mean.m": 20.0, "var.m": 20.0, "mean.n": 50.0, "var.n": 112.5, "cov.m.n": 25.0},
    "gene_expression_x100": {"mean.m": 2000.0, "var.m": 2000.0, "mean.n": 5000.0, "var.n": 11250.0, "cov.m.n": 2500.0},
}
