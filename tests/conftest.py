import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# subprocesses (nbgrader, jupyter-book, kernels) must find this environment's scripts
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


@pytest.fixture(scope="session")
def root():
    return ROOT
