"""Small network blocks shared by tasks: built from torch.nn only, named by what they are.

References:
- nanoGPT's MLP and MAE's blocks keep the same habit: a few lines each, shapes in the docstring.
"""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU, last: nn.Module | None = None) -> list[nn.Module]:
    """Layers of a dense net sizes[0] -> sizes[1] -> ... -> sizes[-1]: Linear + activation between layers, `last`
    (e.g. nn.Sigmoid()) after the final Linear, or nothing. A list, to splice into an nn.Sequential with other
    layers (Flatten, Unflatten); parameters are created in layer order, so the same seed gives the same init."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if last is not None:
        layers.append(last)
    return layers
