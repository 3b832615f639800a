"""nbgrader's regions, parsed once: the course config's delimiters, and nested or unterminated
regions refused as nbgrader refuses them."""
import pytest

from mlcourse import markers
from mlcourse.course import Course
from mlcourse.errors import BadInput
from mlcourse.grading.spec import split_hidden
from mlcourse.markers import Delimiters, regions


def test_regions_are_parsed_with_the_course_delimiters_and_refused_as_nbgrader_would(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.ClearHiddenTests.begin_test_delimeter = "SECRET"\n'
                                                 'c.ClearHiddenTests.end_test_delimeter = "PUBLIC"\n')
    delimiters = Delimiters.from_config(Course(tmp_path).config)
    assert delimiters.of(markers.HIDDEN) == ("SECRET", "PUBLIC") and delimiters.of(markers.SOLUTION) == ("BEGIN SOLUTION", "END SOLUTION")
    assert [h for _, h in split_hidden("a\n# SECRET\nb\n# PUBLIC\nc", delimiters)] == [False, True, True, True, False]
    with pytest.raises(BadInput, match="No end hidden tests statement found"):
        regions("x\n### BEGIN HIDDEN TESTS\ny")
    with pytest.raises(BadInput, match="nested begin solution"):
        regions("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION")
