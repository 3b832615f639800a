"""VGG (Simonyan and Zisserman, 2014) from a configuration table.

VGG uses only 3x3 convolutions: two stacked 3x3 layers see a 5x5 field with 2 * 9 = 18 weights
per channel pair instead of 25, and three see 7x7 with 27 instead of 49, with a ReLU between
each. VGG-16 has 138,357,544 parameters for 1000 classes, 123.6 million of them in the classifier.
"""
from torch import nn

from .layers import FeaturesClassifier, init_weights
from .registry import register_model

# output channels of each 3x3 convolution; "M" is a 2x2 max pooling that halves H and W
CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def make_features(config, in_channels=3, batch_norm=False, ceil_mode=False):
    """The convolutional part of VGG from a ``CONFIGS`` entry: conv3x3 [-> BatchNorm] -> ReLU
    for each number, MaxPool2d(2) for each "M". Input (N, in_channels, H, W) -> (N, 512, H/32, W/32)."""
    layers = []
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(in_channels, item, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item))
        layers.append(nn.ReLU())
        in_channels = item
    return nn.Sequential(*layers)


class VGG(FeaturesClassifier):
    """Convolutional features, average pooling to a fixed grid, then the classifier.

    Input (N, in_channels, 224, 224) -> features (N, 512, 7, 7) = 25,088 per image -> scores
    (N, num_classes). With ``small_input=True`` (32x32 or 8x8 images) the poolings round up, so
    an 8x8 image still reaches 1x1, and the classifier is 512 -> 512 -> 512 -> num_classes.
    """

    def __init__(self, features, num_classes=1000, small_input=False, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1 if small_input else 7)
        self.flatten = nn.Flatten()
        width, hidden = (512, 512) if small_input else (512 * 7 * 7, 4096)
        self.classifier = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.apply(init_weights)


def _vgg(name, num_classes, batch_norm, in_channels, small_input):
    features = make_features(CONFIGS[name], in_channels, batch_norm, ceil_mode=small_input)
    return VGG(features, num_classes, small_input)


@register_model("vgg11_bn", small_input=True, batch_norm=True)
@register_model("vgg11", small_input=True)
def vgg11(num_classes=1000, batch_norm=False, in_channels=3, small_input=False):
    """VGG-11 (configuration A): 8 convolutions and 3 fully connected layers."""
    return _vgg("vgg11", num_classes, batch_norm, in_channels, small_input)


@register_model("vgg13_bn", small_input=True, batch_norm=True)
@register_model("vgg13", small_input=True)
def vgg13(num_classes=1000, batch_norm=False, in_channels=3, small_input=False):
    """VGG-13 (configuration B): 10 convolutions and 3 fully connected layers."""
    return _vgg("vgg13", num_classes, batch_norm, in_channels, small_input)


@register_model("vgg16_bn", small_input=True, batch_norm=True)
@register_model("vgg16", small_input=True)
def vgg16(num_classes=1000, batch_norm=False, in_channels=3, small_input=False):
    """VGG-16 (configuration D): 13 convolutions and 3 fully connected layers."""
    return _vgg("vgg16", num_classes, batch_norm, in_channels, small_input)


@register_model("vgg19_bn", small_input=True, batch_norm=True)
@register_model("vgg19", small_input=True)
def vgg19(num_classes=1000, batch_norm=False, in_channels=3, small_input=False):
    """VGG-19 (configuration E): 16 convolutions and 3 fully connected layers."""
    return _vgg("vgg19", num_classes, batch_norm, in_channels, small_input)
