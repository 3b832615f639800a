"""constraints.txt, the lock `make` installs with: it pins every dependency pyproject.toml
declares within the declared range, carries no local build label, and is what this environment
holds (so the suite runs on the versions it was locked with)."""
import importlib.util
import os
import re
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from tests.course import ROOT

def _load_tool(name):
    """tools/<name>.py, a script rather than a package, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _load_tool("lock")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not a name==version pin"
            pins[canonical(name)] = version
    return pins


def declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    return [Requirement(d) for d in deps]


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = locked()
    for req in declared():
        assert canonical(req.name) in pins, f"{req.name} is declared in pyproject.toml but not locked"
        assert req.specifier.contains(pins[canonical(req.name)], prereleases=True), \
            f"{req.name}=={pins[canonical(req.name)]} is outside the declared {req.specifier}"


def test_pins_carry_no_local_label():
    labelled = {name: v for name, v in locked().items() if "+" in v}
    assert not labelled, f"local labels make the lock machine-specific: {labelled}"
    assert locked()["torch"] == "2.13.0"


@pytest.mark.skipif(bool(os.environ.get(lock.REFRESHING)), reason="tools/lock.py is testing a fresh resolution")
def test_this_environment_is_the_locked_one():
    drift = {}
    for name, version in locked().items():
        try:
            installed = metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            drift[name] = (version, "not installed")
            continue
        if installed != version:
            drift[name] = (version, installed)
    assert not drift, f"installed versions differ from constraints.txt (locked, installed): {drift}; " \
                      "run `make` to reinstall, or `make lock` to refresh the lock on purpose"


def test_lock_lines_are_sorted_pins_without_editables():
    lines = lock.frozen(sys.executable)
    assert lines == sorted(lines, key=lambda pin: pin.split("==")[0].lower())
    assert all("==" in line and "+" not in line for line in lines)
    assert not any(canonical(line.split("==")[0]) == "mlcourse" for line in lines)
