"""The one exception type that reaches users.

Anything the user can fix (a missing file, a wrong size, a bad name list) raises
``MatbenchError`` with a one-line message that names the file and the problem.
The CLI prints that line and exits with status 2, without a traceback; everything
else is a bug and keeps its traceback.
"""


class MatbenchError(Exception):
    """A problem with the user's input, described in one line."""


def capped_list(names, limit: int = 10) -> str:
    """``names`` as a comma list for a one-line message: the first ``limit`` of them, then
    ``… (N more)``; all of them when ``limit`` is 0 or None. ``"a, b, … (3 more)"``."""
    names = [str(n) for n in names]
    if limit and len(names) > limit:
        return ", ".join(names[:limit]) + f", … ({len(names) - limit} more)"
    return ", ".join(names)
