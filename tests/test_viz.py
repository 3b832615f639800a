"""mlcourse.viz on matplotlib's Agg backend: the plane takes the colour of the class the given
predict function returns there, every class is scattered in its colour, and images are drawn
one per axis, scaled to their range, without ticks."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from mlcourse.viz import CLASS_COLORS, plot_decision_regions, show_images  # noqa: E402

# the data sit near the corners, away from the probes at (+-1, +-1)
X = np.array([[-1.8, 1.8], [-1.8, -1.8], [1.8, 1.8], [1.6, 1.8], [1.8, -1.8]])
y = np.array([0, 0, 1, 1, 2])


def quadrants(points):
    """0 left of the x2 axis, 1 in the upper right quadrant, 2 in the lower right one."""
    return np.where(points[:, 0] < 0, 0, np.where(points[:, 1] >= 0, 1, 2))


@pytest.fixture
def figure():
    fig = plt.figure(figsize=(4, 4), dpi=50)
    yield fig
    plt.close(fig)


def pixel(ax, point):
    """RGB in [0, 1] of the rendered figure at data coordinates ``point``."""
    ax.figure.canvas.draw()
    rgba = np.asarray(ax.figure.canvas.buffer_rgba())
    col, row = ax.transData.transform(point)
    return rgba[int(rgba.shape[0] - row), int(col), :3] / 255


def test_regions_take_the_colour_of_the_predicted_class(figure):
    ax = figure.add_subplot()
    calls = []
    predict = lambda points: calls.append(points.shape) or quadrants(points)  # noqa: E731
    assert plot_decision_regions(ax, predict, X, y, bounds=(-2, 2, -2, 2), resolution=50) is ax
    assert calls == [(50 * 50, 2)]
    for probe, label in [((-1, 1), 0), ((-1, -1), 0), ((1, 1), 1), ((1, -1), 2)]:
        tint = 1 - 0.25 * (1 - np.array(to_rgb(CLASS_COLORS[label])))     # alpha 0.25 over white
        np.testing.assert_allclose(pixel(ax, probe), tint, atol=0.02, err_msg=f"region at {probe}")
    assert (ax.get_xlim(), ax.get_ylim()) == ((-2, 2), (-2, 2))


def test_each_class_is_scattered_in_its_colour(figure):
    ax = plot_decision_regions(figure.add_subplot(), quadrants, X, y, resolution=20)
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 3
    for c, collection in enumerate(dots):
        np.testing.assert_array_equal(collection.get_offsets(), X[y == c])
        np.testing.assert_allclose(collection.get_facecolor()[0, :3], to_rgb(CLASS_COLORS[c]))
    assert ax.get_legend_handles_labels()[1] == ["class 0", "class 1", "class 2"]
    # the default bounds hold every point
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    assert x_lo < X[:, 0].min() and X[:, 0].max() < x_hi and y_lo < X[:, 1].min() and X[:, 1].max() < y_hi


@pytest.mark.parametrize("call, message", [
    (lambda ax: plot_decision_regions(ax, quadrants, X[:, :1], y), r"X must have shape \(N, 2\)"),
    (lambda ax: plot_decision_regions(ax, lambda p: quadrants(p)[:-1], X, y, resolution=10),
     r"one label per point, shape \(M,\) = \(100,\), got shape \(99,\)"),
    (lambda ax: plot_decision_regions(ax, lambda p: np.full(len(p), 10), X, y, resolution=10), "at most 10 classes"),
])
def test_bad_input_to_plot_decision_regions(figure, call, message):
    with pytest.raises(ValueError, match=message):
        call(figure.add_subplot())


def test_show_images_draws_each_image_without_ticks(figure):
    axes = figure.subplots(2, 2)
    grey = np.arange(12.0).reshape(3, 4)
    colour = np.random.default_rng(0).uniform(-3, 5, (4, 5, 3))
    assert show_images(axes, [grey, colour, -grey], titles=["a", "b", "c"]) is axes
    drawn = axes.ravel()
    for ax, title in zip(drawn[:3], "abc"):
        assert len(ax.images) == 1 and ax.get_title() == title
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    np.testing.assert_array_equal(drawn[0].images[0].get_array(), grey)
    assert drawn[0].images[0].get_cmap().name == "gray"
    # grey images are scaled by imshow's colour limits, colour ones here to [0, 1]
    assert drawn[2].images[0].get_clim() == (-11.0, 0.0)
    scaled = (colour - colour.min()) / (colour.max() - colour.min())
    np.testing.assert_allclose(drawn[1].images[0].get_array(), scaled)
    assert len(drawn[3].images) == 0                      # a spare axis stays empty


def test_show_images_refuses_what_it_cannot_draw(figure):
    axes = figure.subplots(1, 2)
    with pytest.raises(ValueError, match="3 images but only 2 axes"):
        show_images(axes, [np.zeros((2, 2))] * 3)
    with pytest.raises(ValueError, match=r"image 0 must have shape \(H, W\) or \(H, W, 3\).*transpose\(1, 2, 0\)"):
        show_images(axes, [np.zeros((3, 8, 8))])
