"""Reference rows for the leaderboard: DIM (published checkpoints), PyMatting's classical
methods and the ``trimap-mid`` floor, run over a dataset into a folder of 8-bit PNGs.

``run_baseline(name, out, dataset=... | images=..., trimaps=..., **options)`` is the entry point;
``BASELINES`` lists the names. torch and pymatting are imported only when a method needs them.
"""
from matbench.baselines.runner import BASELINES, CLASSICAL, list_inputs, run_baseline

__all__ = ["BASELINES", "CLASSICAL", "list_inputs", "run_baseline"]
