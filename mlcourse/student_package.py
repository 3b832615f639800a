"""The part of ``mlcourse`` that students and their graded kernels get: data, gradient checks,
the test cells' checks, plots and the judge's wire format; no reference implementation of
anything an assignment grades. Built from this allow-list, never by deleting from the package:
as a folder (mounted over the package in the grading sandbox) or as the student wheel."""
import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

import mlcourse

from .atomic import atomic_open

STUDENT_MODULES = ("__init__.py", "atomic.py", "checks.py", "data.py", "errors.py", "gradcheck.py", "solver.py", "viz.py",
                   "grading/__init__.py", "grading/asserts.py", "grading/language.py", "grading/zh_CN.py", "grading/wire.py",
                   "cli/__init__.py", "cli/check.py")
DISTRIBUTION = "mlcourse_student"
# what the student modules and the released notebooks import; torch only for the exercises on PyTorch
REQUIRES = ("numpy>=1.24,<3", "matplotlib>=3.7,<4", "scikit-learn>=1.3,<2", "tqdm>=4.60", 'torch>=2.1; extra == "torch"')
EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources make the same wheel


def _source():
    return Path(mlcourse.__file__).resolve().parent


def copy_student_package(dest):
    """Copy the allowed modules of the installed package into the folder ``dest`` (made here)."""
    source, dest = _source(), Path(dest)
    for name in STUDENT_MODULES:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)
        target.chmod(0o644)
    for folder in [dest, *[p for p in dest.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    return dest


def wheel_name():
    return f"{DISTRIBUTION}-{mlcourse.__version__}-py3-none-any.whl"


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(folder):
    """Write the student wheel (the allowed modules as the package ``mlcourse``) into ``folder``;
    returns its path. Written whole or not at all."""
    source, version = _source(), mlcourse.__version__
    info = f"{DISTRIBUTION}-{version}.dist-info"
    files = [(f"mlcourse/{name}", (source / name).read_bytes()) for name in STUDENT_MODULES]
    metadata = "\n".join(["Metadata-Version: 2.1", "Name: mlcourse-student", f"Version: {version}",
                          "Summary: What students of the mlcourse course install: data, gradient checks, "
                          "test-cell checks and plots (no reference solutions)",
                          "Requires-Python: >=3.11", "Provides-Extra: torch",
                          *[f"Requires-Dist: {r}" for r in REQUIRES]]) + "\n"
    files += [(f"{info}/METADATA", metadata.encode()),
              (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: mlcourse\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
              (f"{info}/top_level.txt", b"mlcourse\n")]
    record = "\n".join([_record_line(p, d) for p, d in files] + [f"{info}/RECORD,,"]) + "\n"
    files.append((f"{info}/RECORD", record.encode()))
    path = Path(folder) / wheel_name()
    with atomic_open(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            entry = zipfile.ZipInfo(name, EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
    return path
