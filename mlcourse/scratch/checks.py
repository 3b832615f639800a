"""The input checks of the reference, kept in ``mlcourse.checks`` (which the student package
ships too, since ``gradcheck`` uses them); re-exported here for the reference's modules."""
from ..checks import (check_conv_inputs, check_labels, check_linear_inputs, check_positive_int,  # noqa: F401
                      check_rank, check_scores, check_shape)
