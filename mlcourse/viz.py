"""Plotting helpers the book and the notebooks share."""
import numpy as np

CLASS_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def plot_decision_regions(ax, predict, X, y, bounds=None, resolution=200, title=None, class_label="class {}"):
    """Colour the plane by ``predict`` and scatter the labelled points on ``ax``.

    predict: maps a (M, 2) array of points to (M,) integer labels in [0, C); X (N, 2); y (N,)
    labels in [0, C), at most 10 classes (one colour each, ``CLASS_COLORS``).
    bounds: (xmin, xmax, ymin, ymax); default: the data's range with a margin.
    The grid has resolution x resolution points; class_label names class c in a legend,
    ``class_label.format(c)``. Returns ax.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
        raise ValueError(f"X must have shape (N, 2) and y shape (N,), "
                         f"got X of shape {X.shape} and y of shape {y.shape}")
    if bounds is None:
        pad = 0.1 * (X.max() - X.min())
        bounds = (X[:, 0].min() - pad, X[:, 0].max() + pad, X[:, 1].min() - pad, X[:, 1].max() + pad)
    g1, g2 = np.meshgrid(np.linspace(bounds[0], bounds[1], resolution), np.linspace(bounds[2], bounds[3], resolution))
    labels = np.asarray(predict(np.c_[g1.ravel(), g2.ravel()]))
    if labels.shape != (g1.size,):
        raise ValueError(f"predict must return one label per point, shape (M,) = ({g1.size},), "
                         f"got shape {labels.shape}")
    labels = labels.reshape(g1.shape)
    num_classes = int(max(labels.max(), y.max())) + 1
    if num_classes > len(CLASS_COLORS):
        raise ValueError(f"plot_decision_regions colours at most {len(CLASS_COLORS)} classes, "
                         f"got labels up to {num_classes - 1}")
    colors = CLASS_COLORS[:num_classes]
    ax.contourf(g1, g2, labels, levels=np.arange(num_classes + 1) - 0.5, colors=colors, alpha=0.25)
    for c in range(num_classes):
        ax.scatter(*X[y == c].T, s=10, color=colors[c], label=class_label.format(c))
    ax.set(xlim=bounds[:2], ylim=bounds[2:], xlabel="$x_1$", ylabel="$x_2$", title=title)
    return ax


def show_images(axes, images, titles=None, cmap="gray"):
    """Draw each image on one of ``axes`` without ticks, scaled to its own range.

    images: a sequence of (H, W) grey images (drawn with ``cmap``) or (H, W, 3) colour images;
    axes: at least as many matplotlib axes (any array shape); titles: one per image, or None.
    Returns axes.
    """
    flat, images = np.ravel(axes), list(images)
    if len(images) > len(flat):
        raise ValueError(f"got {len(images)} images but only {len(flat)} axes to draw them on")
    for i, (ax, image) in enumerate(zip(flat, images)):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 3:
            low, high = image.min(), image.max()          # colours: imshow does not rescale them
            image = (image - low) / (high - low) if high > low else np.zeros(image.shape)
        elif image.ndim != 2:
            raise ValueError(f"image {i} must have shape (H, W) or (H, W, 3), got shape {image.shape}; "
                             "a (C, H, W) image is drawn with image.transpose(1, 2, 0)")
        ax.imshow(image, cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return axes


CHINESE_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei",
                 "WenQuanYi Micro Hei", "Heiti SC")


def use_chinese_fonts():
    """Let matplotlib draw Chinese labels: the first of CHINESE_FONTS that is installed becomes the
    font, with DejaVu Sans behind it for any glyph it lacks. Returns that font's name, or None when
    none is installed (labels then show empty boxes; on Debian, install fonts-noto-cjk)."""
    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in CHINESE_FONTS if name in installed), None)
    if found is not None:
        matplotlib.rcParams["font.family"] = [found, "DejaVu Sans"]
    return found
