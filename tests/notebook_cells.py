"""Run a notebook's code cells in order in this Python, with nothing but the standard library
and what the notebook imports: ``python notebook_cells.py NOTEBOOK.json``. Prints one JSON line,
{test cell id: null when it passed, else [exception type, message]}. The bundle test runs it
with the student wheel's fresh environment, where no part of the source tree is importable."""
import json
import linecache
import os
import sys
import traceback

os.environ.setdefault("MPLBACKEND", "Agg")
cells = json.load(open(sys.argv[1], encoding="utf-8"))["cells"]
namespace, results = {"__name__": "__main__"}, {}
for index, cell in enumerate(cells):
    if cell["cell_type"] != "code":
        continue
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    source = "\n".join(line for line in source.split("\n") if not line.lstrip().startswith(("%", "!")))
    info = cell.get("metadata", {}).get("nbgrader", {})
    filename = f"<cell {index}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for inspect.getsource
    try:
        exec(compile(source, filename, "exec"), namespace)
        error = None
    except Exception as err:  # the cell failed: record how
        error = [type(err).__name__, str(err)[:300]]
        if not info.get("grade"):
            error.append("".join(traceback.format_exception(err))[-1500:])
    if info.get("grade") and not info.get("solution"):
        results[info["grade_id"]] = error
    elif error:
        results[f"cell {index}"] = error
print(json.dumps(results))
