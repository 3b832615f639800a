"""nbgrader course configuration: instructor notebooks in solutions/, student copies in exercises/."""
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "mlcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# A graded notebook runs in well under a minute; a cell that takes two is stuck.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader zeroes a test cell that wrote anything to stderr; a correct answer that
# triggers a library warning must keep its points, so stderr streams are dropped
# before grading (errors are separate outputs and still fail the cell).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"
