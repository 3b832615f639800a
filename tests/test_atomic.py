import pytest

from mlcourse.atomic import atomic_open


def test_written_whole_and_old_version_kept_on_failure(tmp_path):
    path = tmp_path / "sub" / "grades.csv"
    with atomic_open(path, "w") as f:
        f.write("student,score\nada,8\n")
    assert path.read_text() == "student,score\nada,8\n"
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as f:
            f.write("student,score\n")
            raise RuntimeError("crash halfway")
    assert path.read_text() == "student,score\nada,8\n"
    assert [p.name for p in path.parent.iterdir()] == ["grades.csv"]
