"""Plotting helpers the book and the notebooks share."""
import numpy as np

CLASS_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def plot_decision_regions(ax, predict, X, y, bounds=None, resolution=200, title=None):
    """Colour the plane by ``predict`` and scatter the labelled points on ``ax``.

    predict: maps a (M, 2) array of points to (M,) integer labels; X (N, 2); y (N,).
    bounds: (xmin, xmax, ymin, ymax); default: the data's range with a margin.
    """
    if bounds is None:
        pad = 0.1 * (X.max() - X.min())
        bounds = (X[:, 0].min() - pad, X[:, 0].max() + pad, X[:, 1].min() - pad, X[:, 1].max() + pad)
    g1, g2 = np.meshgrid(np.linspace(bounds[0], bounds[1], resolution), np.linspace(bounds[2], bounds[3], resolution))
    labels = np.asarray(predict(np.c_[g1.ravel(), g2.ravel()])).reshape(g1.shape)
    num_classes = int(max(labels.max(), y.max())) + 1
    colors = CLASS_COLORS[:num_classes]
    ax.contourf(g1, g2, labels, levels=np.arange(num_classes + 1) - 0.5, colors=colors, alpha=0.25)
    for c in range(num_classes):
        ax.scatter(*X[y == c].T, s=10, color=colors[c], label=f"class {c}")
    ax.set(xlim=bounds[:2], ylim=bounds[2:], xlabel="$x_1$", ylabel="$x_2$", title=title)
    return ax


def show_images(axes, images, titles=None, cmap="gray"):
    """Draw each image (H, W) or (H, W, 3) on one of ``axes`` without ticks, scaled to its own range."""
    for i, (ax, image) in enumerate(zip(np.ravel(axes), images)):
        ax.imshow(image, cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return axes
