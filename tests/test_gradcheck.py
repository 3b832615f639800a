import numpy as np
import pytest

from mlcourse.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error


def test_rel_error_formula():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # |3 - 1| / (3 + 1) = 0.5 is the worst entry
    assert rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    # both zero: the 1e-8 floor keeps it finite
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_numerical_gradient_of_quadratic_and_restores_input():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    x_before = x.copy()
    grad = eval_numerical_gradient(lambda v: float(v @ A @ v), x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8
    np.testing.assert_array_equal(x, x_before)


def test_numerical_gradient_array_matches_chain_rule():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    dout = rng.standard_normal((3, 5))
    grad = eval_numerical_gradient_array(np.tanh, x, dout)
    assert rel_error(grad, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_numerical_gradient_array_copes_with_functions_returning_views():
    x = np.arange(6.0).reshape(2, 3)
    grad = eval_numerical_gradient_array(lambda v: v, x, np.ones_like(x))
    np.testing.assert_allclose(grad, np.ones_like(x))


def test_grad_check_sparse_flags_a_wrong_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3))
    f = lambda v: float(np.sum(v ** 3))
    good = grad_check_sparse(f, x, 3 * x ** 2, num_checks=8)
    bad = grad_check_sparse(f, x, 2 * x ** 2, num_checks=8)
    assert max(good) < 1e-7
    assert min(bad) > 1e-2


@pytest.mark.parametrize("check", [
    lambda x: eval_numerical_gradient(lambda v: float(np.sum(v ** 2)), x),
    lambda x: eval_numerical_gradient_array(lambda v: v ** 2, x, np.ones(3)),
    lambda x: grad_check_sparse(lambda v: float(np.sum(v ** 2)), x, 2.0 * x),
])
def test_integer_input_is_refused_rather_than_giving_a_zero_gradient(check):
    with pytest.raises(ValueError, match="array of floats .* got an array of dtype int64"):
        check(np.array([1, 2, 3]))


def test_grad_check_sparse_wants_the_gradient_in_the_shape_of_x():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"analytic_grad must have shape x's shape = \(2, 3\), got shape \(3, 2\)"):
        grad_check_sparse(lambda v: float(np.sum(v)), x, np.ones((3, 2)))
