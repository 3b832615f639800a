"""Writing a user's files whole or not at all."""
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """Open a temporary file beside ``path`` for writing; when the block ends without error it is
    flushed, synced and renamed over ``path``, so a reader never sees half a file and a crash
    leaves any previous version intact. On error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_dir(staged, dest):
    """Put the folder ``staged`` at ``dest`` in place of what was there: the old folder is
    renamed aside, the new one renamed in, and only then the old one removed, so ``dest`` is
    always a whole folder (old or new) and a crash in between leaves the old one beside it."""
    staged, dest = Path(staged), Path(dest)
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(staged, dest)
    shutil.rmtree(old, ignore_errors=True)
