"""Reaction networks as data: species with initial counts, reactions written as chemists write them.

    species: {m: 0, n: 0}
    reactions:
      - 0 -> m @ 20              # zeroth order: constant rate
      - m -> m + n @ 2.5         # catalytic production
      - 2 A <-> B @ 0.01, 0.1    # reversible: forward and backward rate constants

Propensities follow stochastic mass action (Gillespie 1977): a reaction consuming ν_i molecules of species i
fires at c · ∏_i C(x_i, ν_i), so 2 A -> B has a = c · A(A-1)/2, not c · A (a slip in the post's code).

References:
- D. T. Gillespie, "Exact stochastic simulation of coupled chemical reactions", J. Phys. Chem. 81 (1977).
- Su Jianlin, "A simple Python implementation of Gillespie simulation", https://kexue.fm/archives/5607
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

_TERM = re.compile(r"^(?:(\d+)\s*)?([A-Za-z_][A-Za-z0-9_]*)$")


class NetworkError(ValueError):
    """A network file or text that does not parse; the message names the line and the problem."""


@dataclass(frozen=True)
class Reaction:
    reactants: dict[str, int]  # species -> molecules consumed
    products: dict[str, int]  # species -> molecules produced
    rate: float  # stochastic rate constant c
    text: str  # as written, for messages and plots

    def order(self) -> int:
        return sum(self.reactants.values())


@dataclass(frozen=True)
class Network:
    species: tuple[str, ...]
    initial: tuple[int, ...]  # initial counts, in species order
    reactions: tuple[Reaction, ...]
    name: str = "network"

    @classmethod
    def from_yaml(cls, path: str | Path) -> Network:
        path = Path(path)
        return cls.parse(path.read_text(encoding="utf-8"), source=str(path), name=path.stem)

    @classmethod
    def parse(cls, text: str, source: str = "<text>", name: str = "network") -> Network:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            raise NetworkError(f"{source}: not valid YAML: {e}") from e
        if root is None or not isinstance(root, yaml.MappingNode):
            raise NetworkError(f"{source}: expected a mapping with 'species' and 'reactions'")
        nodes = {k.value: v for k, v in root.value}
        for key in nodes:
            if key not in ("species", "reactions"):
                raise NetworkError(f"{source}:{_line(root)}: unknown key '{key}' (expected species, reactions)")
        if "species" not in nodes or "reactions" not in nodes:
            raise NetworkError(f"{source}: needs both 'species' and 'reactions'")
        species_node = nodes["species"]
        if not isinstance(species_node, yaml.MappingNode) or not species_node.value:
            raise NetworkError(f"{source}:{_line(species_node)}: species must map names to initial counts")
        species, initial = [], []
        for key, value in species_node.value:
            where = f"{source}:{_line(key)}"
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key.value):
                raise NetworkError(f"{where}: bad species name '{key.value}'")
            if not re.match(r"^\d+$", str(value.value)):
                raise NetworkError(f"{where}: initial count of '{key.value}' must be a non-negative integer")
            species.append(key.value)
            initial.append(int(value.value))
        reactions_node = nodes["reactions"]
        if not isinstance(reactions_node, yaml.SequenceNode) or not reactions_node.value:
            raise NetworkError(f"{source}:{_line(reactions_node)}: reactions must be a list of 'A -> B @ rate' lines")
        reactions = []
        for item in reactions_node.value:
            where = f"{source}:{_line(item)}"
            if not isinstance(item, yaml.ScalarNode):
                raise NetworkError(f"{where}: a reaction is one line like 'A + B -> C @ 0.1'")
            reactions += _parse_reaction(item.value, set(species), where)
        return cls(tuple(species), tuple(initial), tuple(reactions), name)

    # Arrays for the simulators -----------------------------------------------------------------------------

    def reactant_matrix(self) -> np.ndarray:
        """(R, S) int64: molecules of each species each reaction consumes (its order per species)."""
        return self._matrix(lambda r: r.reactants)

    def change_matrix(self) -> np.ndarray:
        """(R, S) int64: net change of each species when each reaction fires."""
        return self._matrix(lambda r: r.products) - self.reactant_matrix()

    def rates(self) -> np.ndarray:
        return np.array([r.rate for r in self.reactions], dtype=np.float64)

    def initial_counts(self) -> np.ndarray:
        return np.array(self.initial, dtype=np.int64)

    def propensities(self, x: np.ndarray) -> np.ndarray:
        """a_j(x) = c_j ∏_i C(x_i, ν_ij) for a state x: (S,) or a batch (N, S) -> (R,) or (N, R)."""
        x = np.asarray(x, dtype=np.float64)
        a = np.broadcast_to(self.rates(), x.shape[:-1] + (len(self.reactions),)).copy()
        for j, nu in enumerate(self.reactant_matrix()):
            for i in np.nonzero(nu)[0]:
                for k in range(nu[i]):
                    a[..., j] *= np.maximum(x[..., i] - k, 0) / (k + 1)
        return a

    def _matrix(self, side) -> np.ndarray:
        m = np.zeros((len(self.reactions), len(self.species)), dtype=np.int64)
        for j, r in enumerate(self.reactions):
            for s, count in side(r).items():
                m[j, self.species.index(s)] = count
        return m


def _line(node) -> int:
    return node.start_mark.line + 1


def _side(text: str, species: set[str], where: str) -> dict[str, int]:
    text = text.strip()
    if text in ("0", "∅", ""):
        if text == "":
            raise NetworkError(f"{where}: empty side of a reaction (write 0 for nothing)")
        return {}
    out: dict[str, int] = {}
    for term in text.split("+"):
        m = _TERM.match(term.strip())
        if not m:
            raise NetworkError(f"{where}: bad stoichiometry '{term.strip()}' (expected e.g. 'A' or '2 A')")
        count, name = int(m.group(1) or 1), m.group(2)
        if count < 1:
            raise NetworkError(f"{where}: bad stoichiometry '{term.strip()}': the coefficient must be >= 1")
        if name not in species:
            raise NetworkError(f"{where}: unknown species '{name}' (declared: {', '.join(sorted(species))})")
        out[name] = out.get(name, 0) + count
    return out


def _rate(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NetworkError(f"{where}: rate '{text.strip()}' is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise NetworkError(f"{where}: negative or non-finite rate {text.strip()}")
    return value


def _parse_reaction(line: str, species: set[str], where: str) -> list[Reaction]:
    body, at, rates = line.partition("@")
    if not at:
        raise NetworkError(f"{where}: '{line}' has no rate (write 'A -> B @ 0.1')")
    reversible = "<->" in body
    arrow = "<->" if reversible else "->"
    if body.count(arrow) != 1 or (not reversible and "<-" in body):
        raise NetworkError(f"{where}: '{line}' needs exactly one '->' or '<->'")
    left, right = (_side(s, species, where) for s in body.split(arrow))
    parts = [p for p in rates.split(",")]
    if len(parts) != (2 if reversible else 1):
        need = "two rates 'kf, kb'" if reversible else "one rate"
        raise NetworkError(f"{where}: '{line}' needs {need}")
    values = [_rate(p, where) for p in parts]
    text = line.split("@")[0].strip()
    out = [Reaction(left, right, values[0], text.replace("<->", "->"))]
    if reversible:
        back = " -> ".join(s.strip() for s in reversed(text.split("<->")))
        out.append(Reaction(right, left, values[1], back))
    return out
