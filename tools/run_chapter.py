"""Execute one book chapter (MyST Markdown notebook) outside the full build, for authors.

    .venv/bin/python tools/run_chapter.py book/03_softmax.md [OUT_DIR]

Prints the time taken and any cell error, and writes each figure as OUT_DIR/<chapter>-<n>.png
(default /tmp/chapters) so it can be looked at.
"""
import base64
import sys
import time
from pathlib import Path

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook
from nbclient import NotebookClient


def main(path, out="/tmp/chapters"):
    path, out = Path(path), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    nb = read_myst_markdown_notebook(path.read_text())
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"{path}: executed in {time.perf_counter() - start:.1f} s")
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                print("stderr:", output["text"][:500])
            png = output.get("data", {}).get("image/png")
            if png:
                count += 1
                (out / f"{path.stem}-{count}.png").write_bytes(base64.b64decode(png))
    nbformat.write(nb, out / f"{path.stem}.ipynb")
    print(f"{count} figures written to {out}/{path.stem}-*.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
