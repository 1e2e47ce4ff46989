"""The one exception type that reaches users.

Anything the user can fix (a missing file, a wrong size, a bad name list) raises
``MatbenchError`` with a one-line message that names the file and the problem.
The CLI prints that line and exits with status 2, without a traceback; everything
else is a bug and keeps its traceback.
"""


class MatbenchError(Exception):
    """A problem with the user's input, described in one line."""
