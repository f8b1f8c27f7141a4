"""Task `fvae` (issue 13, in progress): f-VAE vs VAE vs Glow. Its building blocks so far: flows (Glow)."""
