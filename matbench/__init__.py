"""matbench: exact Composition-1K / DIM dataset builds, MATLAB-identical matting metrics,
leaderboards and baselines.

``matbench.score`` and ``matbench.leaderboard`` are the functions (not the modules of the
same name): they are imported here, which also keeps the attribute from being replaced by
the submodule. Everything that needs torch or pymatting is imported only when used.
"""
__version__ = "0.1.0"

from matbench.leaderboard import leaderboard  # noqa: E402
from matbench.score import score  # noqa: E402

__all__ = ["score", "leaderboard", "__version__"]
