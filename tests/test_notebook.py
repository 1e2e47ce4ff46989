"""Execute ``notebooks/quickstart.ipynb`` on the sample data, so the documented API never rots,
from ``notebooks/`` as a user runs it, checking that it writes nothing beside itself."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_notebook_is_committed_with_outputs_cleared():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_and_writes_only_in_a_temporary_folder(tmp_path, monkeypatch, repo_entries):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's tempfile.gettempdir()
    before = repo_entries()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure
    (work,) = tmp_path.glob("matbench-quickstart-*")
    assert (work / "report.html").is_file()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "trimap-mid" in outputs and "oracle" in outputs and f"working folder: {work}" in outputs
    if before is not None:
        assert repo_entries() == before
