"""Write an nbgrader source notebook from a percent-format script, or back.

    python tools/nbsource.py build  script.py  solutions/NN/NN.ipynb
    python tools/nbsource.py script solutions/NN/NN.ipynb  script.py

Cell headers in the script:
    # %% [markdown]                      a markdown cell
    # %%                                 an ordinary code cell
    # %% solution id=NAME                an autograded answer cell (nbgrader solution)
    # %% tests id=NAME points=P          a locked, graded test cell
The notebook is the source of truth in the repository; the script form is for editing.
"""
import re
import sys

import nbformat

HEADER = re.compile(r"^# %%(?: \[(markdown)\]| (solution|tests)((?: \w+=\S+)*))?\s*$")


def _metadata(kind, options):
    meta = {"schema_version": 3, "grade_id": options["id"], "locked": kind == "tests",
            "solution": kind == "solution", "grade": kind == "tests"}
    if kind == "tests":
        meta["points"] = int(options["points"])
    return {"nbgrader": meta}


def build(script_text):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    cells, current = [], None
    for line in script_text.splitlines():
        match = HEADER.match(line)
        if match:
            current = {"markdown": match.group(1), "kind": match.group(2),
                       "options": dict(o.split("=", 1) for o in (match.group(3) or "").split()), "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line[2:] if current["markdown"] and line.startswith("# ") else
                                    ("" if current["markdown"] and line == "#" else line))
    for cell in cells:
        source = "\n".join(cell["lines"]).strip("\n")
        if cell["markdown"]:
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            new = nbformat.v4.new_code_cell(source)
            if cell["kind"]:
                new.metadata = _metadata(cell["kind"], cell["options"])
            nb.cells.append(new)
    for i, cell in enumerate(nb.cells):
        cell.id = (cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{i}").replace("_", "-")
    return nb


def script(nb):
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            parts.append("# %% [markdown]\n" + "\n".join(("# " + l) if l else "#" for l in cell.source.splitlines()))
        elif meta.get("grade"):
            parts.append(f"# %% tests id={meta['grade_id']} points={meta['points']:g}\n{cell.source}")
        elif meta.get("solution"):
            parts.append(f"# %% solution id={meta['grade_id']}\n{cell.source}")
        else:
            parts.append("# %%\n" + cell.source)
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    action, src, dst = sys.argv[1:4]
    if action == "build":
        nbformat.write(build(open(src).read()), dst)
    else:
        open(dst, "w").write(script(nbformat.read(src, as_version=4)))
