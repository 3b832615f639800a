"""The input checks of the reference. The array-free ones live in ``mlcourse.checks`` (which the
student package ships too, since ``gradcheck`` uses them) and are re-exported here; the output
sizes of convolution and pooling are the reference's own. All of them read only shapes, so
``mlcourse.gpu`` applies them to tensors as they are."""
from ..checks import (check_conv_inputs, check_label_shape, check_labels, check_linear_inputs,  # noqa: F401
                      check_positive_int, check_rank, check_scores, check_shape, label_dtype_error,
                      label_range_error, shape_of)


def conv_output_size(size, field, stride=1, pad=0, dilation=1):
    """Output length along one axis: (W - F + 2P) / S + 1.

    Inputs: size W, field F (before dilation), stride S >= 1, pad P >= 0, dilation d >= 1.
    Returns the integer output size; raises ValueError when the field does not fit in the
    padded input or when S does not divide W - F + 2P.
    """
    stride = check_positive_int("stride", stride)
    pad = check_positive_int("pad", pad, minimum=0)
    dilation = check_positive_int("dilation", dilation)
    span = dilation * (field - 1) + 1
    room = size - span + 2 * pad
    formula = f"(W - F + 2P)/S + 1 = ({size} - {span} + 2*{pad})/{stride} + 1"
    if room < 0:
        raise ValueError(f"the field F = {span} is larger than the padded input: {formula} < 1")
    if room % stride:
        raise ValueError(f"output size {formula} = {room / stride + 1:g} is not an integer: "
                         f"choose W, F, P and S so that S divides W - F + 2P")
    return room // stride + 1


def check_pool_inputs(x, pool_height, pool_width, stride):
    """Validate images x (N, C, H, W) and a pooling window; return (N, C, H_out, W_out)."""
    check_rank("x", x, 4, "(N, C, H, W)")
    N, C, H, W = shape_of(x)
    pool_height = check_positive_int("pool_height", pool_height)
    pool_width = check_positive_int("pool_width", pool_width)
    H_out = conv_output_size(H, pool_height, stride)
    W_out = conv_output_size(W, pool_width, stride)
    return N, C, H_out, W_out
