"""The judge's wire format: values survive the trip with their types, and replies that are
malformed, too large, too deep or not numeric are refused with a reason, never unpickled."""
import io

import numpy as np
import pytest

from mlcourse.grading import wire


def reply(value):
    arrays = []
    return wire.pack({"value": wire.encode(value, arrays)}, arrays)


def test_wire_round_trip_keeps_types_and_values():
    value = {"a": [1, 2.5, None, True, "s", 3 + 4j], (1, 2): (np.arange(6.0).reshape(2, 3), np.float64(2.5)),
             "big": 10 ** 30, "n": np.int64(7), "nan": float("nan")}
    back = wire.unpack(*reply(value))["value"]
    assert back["a"] == [1, 2.5, None, True, "s", 3 + 4j] and back["big"] == 10 ** 30
    assert np.array_equal(back[(1, 2)][0], value[(1, 2)][0]) and back[(1, 2)][1] == 2.5
    assert isinstance(back["n"], np.int64) and np.isnan(back["nan"])
    assert type(back[(1, 2)]) is tuple


@pytest.mark.parametrize("document, buffers, says", [
    ("not a dict", [], "not a reply document"),
    ({"value": {"t": "array", "v": 0}, "arrays": 2}, [b""], "lists 2 arrays but carries 1"),
    ({"value": {"t": "array", "v": 0}, "arrays": 1}, [b"\x93NUMPY garbage"], "cannot be read"),
    ({"value": {"t": "array", "v": 5}, "arrays": 0}, [], "malformed array"),
    ({"value": {"t": "pickle", "v": "x"}, "arrays": 0}, [], "unknown kind"),
    ({"value": {"t": "int", "v": "9" * 5000}, "arrays": 0}, [], "malformed integer"),
    ({"value": {"t": "handle", "v": 1}, "arrays": 0}, [], "unknown kind"),
])
def test_malformed_replies_are_rejected_with_a_reason(document, buffers, says):
    with pytest.raises(wire.ReplyError, match=says):
        wire.unpack(document, buffers)


def test_object_arrays_oversized_and_deep_replies_are_rejected():
    out = io.BytesIO()
    np.save(out, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.ReplyError, match="cannot be read"):
        wire.unpack({"value": {"t": "array", "v": 0}, "arrays": 1}, [out.getvalue()])
    with pytest.raises(wire.ReplyError, match="more than the"):
        wire.unpack(*reply(np.zeros(wire.MAX_BYTES // 8 + 1)))
    deep = {"t": "list", "v": []}
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.ReplyError, match="nested deeper"):
        wire.unpack({"value": deep, "arrays": 0}, [])
    with pytest.raises(TypeError, match="not data"):
        wire.encode(object(), [])


def in_process_judge(namespace, source):
    """A Judge whose "kernel" is ``wire.answer`` over ``namespace`` in this process, counting
    requests; ``source`` is the notebook's answer cell defining the graded names."""
    from nbformat.v4 import new_code_cell, new_notebook

    from mlcourse.grading.judge import Judge, defined_names

    sent = []

    def send(document, buffers):
        sent.append(document["op"])
        return wire.answer(document, buffers, namespace)

    cell = new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "answer"}})
    plain = "\n".join("" if line.startswith("%") else line for line in source.split("\n"))
    exec(plain, namespace)
    return Judge(send, defined_names(plain), new_notebook(cells=[cell])), sent


def test_a_numerical_gradient_check_sends_its_probes_in_one_request():
    from nbformat.v4 import new_code_cell

    judge, sent = in_process_judge({"np": np}, "def loss(W, X):\n    return np.sum((X @ W) ** 2), 2 * X.T @ (X @ W)")
    test = ("rng = np.random.default_rng(0)\nW, X = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))\n"
            "check_gradient('dW', lambda w: loss(w, X)[0], W, loss(W, X)[1])\n"
            "from mlcourse.gradcheck import eval_numerical_gradient\n"
            "from mlcourse.grading.asserts import _numerical_gradient\n"
            "one_by_one = eval_numerical_gradient(lambda w: loss(w, X)[0], W)\n"
            "assert np.array_equal(_numerical_gradient(lambda w: loss(w, X)[0], W, 1e-5), one_by_one)\n")
    outputs = judge.run_cell(new_code_cell(test, metadata={"nbgrader": {"grade": True, "grade_id": "t"}}), 1)
    assert outputs == [] and sent.count("calls") == 2  # the check's probes, then the comparison's
    assert sent.count("call") == 1 + 2 * 12  # loss(W, X) once, then gradcheck's own probes one by one


def test_probes_that_do_more_than_call_and_index_run_one_by_one():
    from nbformat.v4 import new_code_cell

    judge, sent = in_process_judge({"np": np}, "def f(w):\n    return np.sum(w ** 3)")
    test = ("w = np.array([1.0, -2.0, 0.5])\n"
            "check_gradient('df', lambda v: 2.0 * f(v), w, 6.0 * w ** 2, tol=1e-6)\n")
    outputs = judge.run_cell(new_code_cell(test, metadata={"nbgrader": {"grade": True, "grade_id": "t"}}), 1)
    assert outputs == [] and "calls" not in sent and sent.count("call") == 6


def test_a_batch_reply_without_one_value_per_probe_fails_the_cell():
    from nbformat.v4 import new_code_cell

    judge, _ = in_process_judge({"np": np}, "def f(w):\n    return np.sum(w ** 2)")
    honest = judge.send
    judge.send = lambda document, buffers: reply([]) if document["op"] == "calls" else honest(document, buffers)
    test = "w = np.ones(3)\ncheck_gradient('df', lambda v: f(v), w, np.zeros(3))\n"
    outputs = judge.run_cell(new_code_cell(test, metadata={"nbgrader": {"grade": True, "grade_id": "t"}}), 1)
    assert outputs[-1]["ename"] == "ReplyError" and "one value per call" in outputs[-1]["evalue"]


def test_a_loop_is_reported_at_its_line_in_the_students_cell():
    from nbformat.v4 import new_code_cell

    source = "# my vectorized loss\n%time\n\ndef loss(x):\n    total = 0\n    for v in x:\n        total += v\n    return total"
    judge, _ = in_process_judge({"np": np}, source)
    outputs = judge.run_cell(new_code_cell("assert_no_loops('loss', loss)",
                                           metadata={"nbgrader": {"grade": True, "grade_id": "t"}}), 1)
    assert "line 6 of its cell has a For" in outputs[-1]["evalue"]
