"""Offline health-model tooling (numpy, scikit-learn and matplotlib allowed here; never shipped in the layer)."""
