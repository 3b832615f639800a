"""Small building blocks shared by the architectures: convolution factories and initialization."""
from torch import nn


def conv3x3(in_channels, out_channels, stride=1):
    """3x3 convolution with padding 1 and no bias (a batch norm follows):
    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    """1x1 convolution without bias, mixing channels pixel by pixel (projections, bottlenecks):
    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def init_weights(module):
    """He (Kaiming) normal initialization of convolutions, made for ReLU networks, with zero biases.
    Other layers keep torch's defaults (batch norm starts as the identity). Use with ``model.apply``."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class FeaturesClassifier(nn.Module):
    """Base of AlexNet and VGG: ``features`` (convolutions), ``avgpool`` to a fixed grid,
    ``flatten``, then the fully connected ``classifier``; subclasses build the four parts.
    (N, C, H, W) -> (N, num_classes)."""

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = self.flatten(x)
        x = self.classifier(x)
        return x
