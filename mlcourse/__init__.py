"""mlcourse: reference implementations, data and grading for the course."""
__version__ = "0.1.0"
