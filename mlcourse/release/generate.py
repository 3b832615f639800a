"""Release student notebooks: ``nbgrader generate_assignment`` run on a throw-away copy of the
course, so the instructor's gradebook is never touched, and the result put in ``exercises/``.

The command line is ``mlcourse release`` (``mlcourse/cli/release.py``).
"""
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat

from ..atomic import atomic_open, replace_dir
from ..course import LANGUAGES, Course
from ..errors import BadInput, SetupError


# what nbgrader leaves in an answer cell (nbgrader_config.py), and its words in each other edition
STUBS = {"en": {"markdown": "YOUR ANSWER HERE", "code": "# YOUR CODE HERE"},
         "zh_CN": {"markdown": "在这里写下你的回答。", "code": "# 在这里写你的代码"}}


def _translate_stubs(nb, language):
    """Put ``language``'s words in the answer cells nbgrader cleared in English."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            english, own = STUBS["en"][cell.cell_type], STUBS[language][cell.cell_type]
            cell.source = own if cell.source == english else cell.source.replace(english, own)


def assignments(root=None):
    """Names of the assignments of the course at ``root`` (default: found from the current
    folder): the folders of its source directory (solutions/) holding ``<name>.ipynb``, sorted."""
    sources = Course(root).sources
    return sorted(p.name for p in sources.iterdir() if (p / f"{p.name}.ipynb").exists())


def tool_env():
    """The environment with this Python's scripts first on PATH (nbgrader runs ``alembic``)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def nbgrader(args, cwd, check=True):
    """Run the nbgrader CLI of this Python environment in ``cwd``; returns the CompletedProcess."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                            capture_output=True, text=True, env=tool_env())
    if check and result.returncode != 0:
        raise SetupError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@contextmanager
def generated_course(config, source, assignment, db_url=None, source_directory="solutions"):
    """Run ``nbgrader generate_assignment`` on a throw-away course that holds only ``config``
    (an nbgrader_config.py) and the assignment folder ``source``; yields that course's folder.

    The gradebook is ``db_url``, or a temporary one when None.
    """
    with tempfile.TemporaryDirectory(prefix="mlcourse-release-") as tmp:
        shutil.copy(config, Path(tmp) / "nbgrader_config.py")
        shutil.copytree(source, Path(tmp) / source_directory / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        nbgrader(["generate_assignment", assignment, "--force", "--db", db_url or f"sqlite:///{tmp}/gradebook.db"],
                 cwd=tmp)
        yield Path(tmp)


def generate(assignment, dest, root=None, language="en"):
    """Generate the student version of ``assignment`` of the course at ``root`` (default: found
    from the current folder), in the edition of ``language``, into the folder ``dest`` (replaced
    whole). The grader's settings in the notebook's metadata (``mlcourse``: judge, answer key) stay
    out; its language stays in. A file in ``dest`` that someone edited since release wrote it is
    first copied to ``<course>/backups/`` (``keep_edits``)."""
    course, dest = Course(root), Path(dest)
    root = course.root
    with generated_course(root / "nbgrader_config.py", course.source_folder(assignment, language), assignment,
                          source_directory=course.dirs.source_directory) as tmp:
        fresh = tmp / course.dirs.release_directory / assignment
        for path in fresh.glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            grader = nb.metadata.pop("mlcourse", None)
            if grader is not None:
                if grader.get("language", "en") != "en":
                    nb.metadata["mlcourse"] = {"language": grader["language"]}
                    _translate_stubs(nb, grader["language"])
                nbformat.write(nb, path)
        keep_edits(fresh, dest, root / "backups")
        _replace_folder(fresh, dest)
        _record(dest)
    return dest


RECORD = ".released.json"  # beside the released folders: {assignment/file: sha256 of what release wrote}


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def released_checksums(dest):
    """{assignment/file: sha256} of the files of the released folder ``dest``, as RECORD keeps them."""
    return {f"{dest.name}/{p.relative_to(dest).as_posix()}": _sha(p) for p in sorted(Path(dest).rglob("*"))
            if p.is_file()}


def _record(dest):
    record_path = dest.parent / RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    record = {k: v for k, v in record.items() if not k.startswith(f"{dest.name}/")}
    record.update(released_checksums(dest))
    with atomic_open(record_path, "w") as out:
        json.dump(record, out, indent=1, sort_keys=True)


def keep_edits(fresh, dest, backups):
    """Copy to ``backups/<time>/<assignment>/`` every file of ``dest`` that release is about to
    replace or remove and that is neither what it will write (``fresh``) nor what it last wrote
    there (its recorded checksum): someone edited it. Says where; returns the copies."""
    fresh, dest = Path(fresh), Path(dest)
    record_path = dest.parent / RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    kept = []
    for path in sorted(p for p in dest.rglob("*") if p.is_file()) if dest.is_dir() else []:
        rel = path.relative_to(dest)
        same = (fresh / rel).is_file() and (fresh / rel).read_bytes() == path.read_bytes()
        if same or record.get(f"{dest.name}/{rel.as_posix()}") == _sha(path):
            continue
        target = Path(backups) / stamp / dest.name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        kept.append(target)
        print(f"{path} was edited since it was released; your version is kept at {target}", file=sys.stderr)
    return kept


def _replace_folder(source, dest):
    """Put a copy of the folder ``source`` at ``dest``, replacing what was there in one rename."""
    staged = dest.parent / f".{dest.name}.new"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(source, staged)
    replace_dir(staged, dest)


BUNDLE_MARK = ".mlcourse-bundle"
BUNDLE_README = """# {course} exercises

Install the course package (once, in the Python environment you run the notebooks in):

    pip install {wheel}
    pip install "{wheel}[torch]"   # for {torch_users}, which use PyTorch

Then open each assignment's notebook, fill in the cells that say `raise NotImplementedError()`
and run the test cell under each: a failing test says what is wrong. Hand in the notebook.
The Chinese notebooks, where the bundle has them, are in `zh_CN/`; hand in either one.

中文版笔记本（如果有）在 `zh_CN/` 文件夹里：补全写着 `raise NotImplementedError()` 的单元格，
运行每个函数下面的测试单元格（测试不通过时会说明哪里不对），然后提交笔记本。中英文版任选其一提交即可。
"""


def _imports_torch(path):
    return any(re.search(r"^\s*(import|from) torch\b", c.source, re.M)
               for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def write_bundle(dest, names, root=None, languages=LANGUAGES):
    """Write what a class receives into the folder ``dest``: per assignment its released folder
    (notebook and data files) in each of ``languages`` that has it (English at ``<name>/``, Chinese at
    ``zh_CN/<name>/``), the student wheel, and a README. ``dest`` is replaced whole if it holds an
    earlier bundle; any other existing folder is refused, so nothing of a user's is lost."""
    from ..student_package import build_wheel

    dest, course = Path(dest), Course(root)
    if dest.exists() and not (dest / BUNDLE_MARK).exists() and any(dest.iterdir()):
        raise BadInput(f"{dest} exists and is not a bundle written by `mlcourse release --bundle`; "
                         "choose a new folder (nothing was written)")
    with tempfile.TemporaryDirectory(prefix="mlcourse-bundle-") as tmp:
        staged = Path(tmp) / "bundle"
        for name in names:
            for language in [lang for lang in course.languages(name) if lang in languages]:
                shutil.copytree(course.released_in(language) / name,
                                staged / ("" if language == "en" else language) / name,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        wheel = build_wheel(staged)
        torch_users = [n for n in names if _imports_torch(staged / n / f"{n}.ipynb")]
        (staged / "README.md").write_text(BUNDLE_README.format(course="mlcourse", wheel=wheel.name,
                                                               torch_users=" and ".join(torch_users) or "none of these"))
        (staged / BUNDLE_MARK).write_text("written by `mlcourse release --bundle`\n")
        dest.parent.mkdir(parents=True, exist_ok=True)
        _replace_folder(staged, dest)
    return dest


def differences(a, b):
    """Relative paths that differ between folders ``a`` and ``b`` (missing on either side too)."""
    cmp = filecmp.dircmp(a, b)
    out = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    for sub, sub_cmp in cmp.subdirs.items():
        out += [f"{sub}/{p}" for p in differences(Path(a) / sub, Path(b) / sub)]
    return sorted(out)
