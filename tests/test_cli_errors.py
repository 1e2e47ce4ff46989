"""Usage errors (unknown option or command, missing argument, bad choice or value) are one line,
``matbench: error: <message> (see matbench <command> --help)``, exit status 2, as every other
error of the command; ``matbench`` alone still prints the help."""
import subprocess
import sys

import pytest

from matbench.cli import main


def _run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.mark.parametrize("args,command,words", [
    (["verify", "--bogus", "x"], "matbench verify", ["No such option", "--bogus"]),
    (["verify"], "matbench verify", ["Missing argument", "DATASET"]),
    (["build-comp1k", "--adobe-root", "a", "--voc-root", "b", "--out", "c", "--trimaps", "zz"],
     "matbench build-comp1k", ["--trimaps", "'zz' is not one of", "official", "generate"]),
    (["run", "nope", "--dataset", "d", "--out", "o"], "matbench run", ["'nope' is not one of", "trimap-mid"]),
    (["score", "p", "--dataset", "d", "--jobs", "0"], "matbench score", ["--jobs", "0"]),
    (["verify", "--jobs"], "matbench verify", ["--jobs", "requires an argument"]),
    (["train", "dim", "--bogus"], "matbench train dim", ["No such option", "--bogus"]),
    (["frobnicate"], "matbench", ["No such command", "frobnicate"]),
])
def test_usage_errors_are_one_line(capsys, args, command, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, and nowhere near the repository
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("matbench: error: "), err
    assert err.endswith(f" (see {command} --help)\n"), err
    assert all(w in err for w in words), err
    assert "Usage:" not in err and "Try '" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_entry_point_prints_one_line():
    p = subprocess.run([sys.executable, "-c", "from matbench.cli import main; main()", "score", "--nope"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("matbench: error: No such option") and "--nope" in p.stderr, p.stderr
    assert p.stderr.count("\n") == 1 and p.stderr.endswith(" (see matbench score --help)\n"), p.stderr


def test_no_command_still_prints_the_help(capsys):
    code, out, err = _run(capsys)
    assert code in (0, 2) and "Usage: matbench" in out + err and "Commands:" in out + err
    main(["--help"])  # called with argv, a command that succeeded returns
    assert "Commands:" in capsys.readouterr().out
