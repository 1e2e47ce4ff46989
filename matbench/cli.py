"""The ``matbench`` command: a thin layer over the Python API.

Each command parses its options, calls one API function and prints the result. Heavy
modules (torch, pymatting, pandas) are imported inside the commands so that
``matbench --help`` and ``matbench score`` start fast. A ``MatbenchError`` is printed as
one line ``matbench: error: ...`` with exit status 2, without a traceback.
"""
from __future__ import annotations

import sys

import click

from matbench.errors import MatbenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="matbench")
def cli():
    """Build the standard matting datasets exactly, score models as the MATLAB reference does."""


# --- dataset building: build-comp1k, build-train, trimap, verify (issue 4) ---

# --- scoring: score (issue 3) ---

# --- baselines: run (issue 6) ---

# --- sample benchmark: demo (issue 5) ---


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="matbench", standalone_mode=False)
    except MatbenchError as e:
        click.echo(f"matbench: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("matbench: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("matbench: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
