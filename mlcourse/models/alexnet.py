"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012), single-tower, as an ``nn.Module``.

The single-tower layout (64, 192, 384, 256, 256 filters) is the one every library ships: the
two-GPU original split its filters between two towers. With 1000 classes it has 61,100,840
parameters, 58.6 million of them in the three fully connected layers.
"""
from torch import nn

from .layers import FeaturesClassifier, init_weights
from .registry import register_model


class AlexNet(FeaturesClassifier):
    """Five convolutions with ReLU and max pooling, then three fully connected layers with dropout.

    Input (N, in_channels, 224, 224) -> features (N, 256, 6, 6) -> scores (N, num_classes).
    ``small_input=True`` builds the variant for 32x32 and 8x8 images: 3x3 convolutions at
    stride 1, three 2x2 poolings and a classifier of width 512 on the pooled 256 features.
    """

    def __init__(self, num_classes=1000, in_channels=3, small_input=False, dropout=0.5):
        super().__init__()
        self.features = _small_features(in_channels) if small_input else _imagenet_features(in_channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1 if small_input else 6)
        self.flatten = nn.Flatten()
        width, hidden = (256, 512) if small_input else (256 * 6 * 6, 4096)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        self.apply(init_weights)


def _imagenet_features(in_channels):
    """224x224 -> 55 (11x11 stride 4) -> 27 (pool) -> 27 -> 13 (pool) -> 13 -> 13 -> 13 -> 6 (pool)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _small_features(in_channels):
    """32x32 -> 16 -> 8 -> 4, or 8x8 -> 4 -> 2 -> 1: every pooling halves, rounding up."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, ceil_mode=True),
        nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, ceil_mode=True),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, ceil_mode=True),
    )


@register_model("alexnet", small_input=True)
def alexnet(num_classes=1000, in_channels=3, small_input=False):
    """AlexNet for 224x224 images, or for 32x32 / 8x8 images with ``small_input=True``."""
    return AlexNet(num_classes, in_channels, small_input)
