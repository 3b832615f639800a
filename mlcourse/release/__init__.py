"""What students receive: generated from the instructor notebooks (``generate``) and proved free
of the answer key (``leaks``)."""
from .generate import (BUNDLE_MARK, RECORD, STUBS, assignments, differences, generate, generated_course,  # noqa: F401
                       keep_edits, nbgrader, released_checksums, tool_env, write_bundle)
from .leaks import answer_key, find_bundle_leaks, find_leaks, is_trivial, scan_file, scan_wheel  # noqa: F401
