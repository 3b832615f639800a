"""ResNet (He, Zhang, Ren and Sun, 2015): residual blocks, the 18/34/50-layer networks, and a
plain network of the same depth to compare gradient flow against.

A residual block computes relu(F(x) + shortcut(x)): the layers learn only the change F(x) to
their input. The shortcut is the identity when F keeps the shape, and a 1x1 convolution (a
"projection") with batch norm when F changes the number of channels or, by its stride, H and W.
With 1000 classes ResNet-18 has 11,689,512 parameters and ResNet-50 25,557,032.
"""
from torch import nn

from .layers import conv1x1, conv3x3, init_weights
from .registry import register_model


def projection(in_channels, out_channels, stride=1, norm=nn.BatchNorm2d):
    """1x1 convolution and batch norm taking a shortcut from (N, in_channels, H, W) to
    (N, out_channels, H / stride, W / stride)."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), norm(out_channels))


class Residual(nn.Module):
    """Base of the residual blocks: out = relu(residual(x) + shortcut(x))."""

    def forward(self, x):
        out = self.residual(x)
        out = out + self.shortcut(x)
        out = self.relu(out)
        return out


class ResidualBlock(Residual):
    """Two 3x3 convolutions with a shortcut around them.

    Input (N, in_channels, H, W) -> output (N, out_channels, H / stride, W / stride).
    ``use_1x1conv=True`` puts a 1x1 projection on the shortcut; without it the shortcut is the
    identity, which needs in_channels == out_channels and stride 1. ``batch_norm=False`` drops
    the batch norms (to study a residual network without them).
    """

    def __init__(self, in_channels, out_channels, stride=1, use_1x1conv=False, batch_norm=True):
        super().__init__()
        norm = nn.BatchNorm2d if batch_norm else nn.Identity
        if not use_1x1conv and (stride != 1 or in_channels != out_channels):
            raise ValueError(f"an identity shortcut cannot take (N, {in_channels}, H, W) to "
                             f"(N, {out_channels}, H/{stride}, W/{stride}): pass use_1x1conv=True")
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = norm(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = norm(out_channels)
        self.shortcut = projection(in_channels, out_channels, stride, norm) if use_1x1conv else nn.Identity()

    def residual(self, x):
        """F(x): conv3x3 -> batch norm -> ReLU -> conv3x3 -> batch norm."""
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        return out


class BasicBlock(ResidualBlock):
    """The block of ResNet-18 and ResNet-34: a ``ResidualBlock`` that projects its shortcut
    exactly when the shape changes. (N, in_channels, H, W) -> (N, channels, H / stride, W / stride)."""

    expansion = 1

    def __init__(self, in_channels, channels, stride=1):
        super().__init__(in_channels, channels, stride, use_1x1conv=stride != 1 or in_channels != channels)


class Bottleneck(Residual):
    """The block of ResNet-50: 1x1 down to ``channels``, 3x3 (carrying the stride), 1x1 up to
    4 * channels, so the costly 3x3 runs on a quarter of the width.

    (N, in_channels, H, W) -> (N, 4 * channels, H / stride, W / stride).
    """

    expansion = 4

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = conv1x1(in_channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = conv1x1(channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        changes_shape = stride != 1 or in_channels != out_channels
        self.shortcut = projection(in_channels, out_channels, stride) if changes_shape else nn.Identity()

    def residual(self, x):
        """F(x): conv1x1 -> BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv1x1 -> BN."""
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        return out


def make_stage(block, in_channels, channels, num_blocks, stride):
    """``num_blocks`` blocks; the first one applies ``stride`` and changes the width."""
    blocks = [block(in_channels, channels, stride)]
    blocks += [block(channels * block.expansion, channels) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """Stem, four stages of residual blocks (64, 128, 256, 512 channels times the block's
    expansion; stages 2-4 halve H and W), global average pooling, one linear layer.

    ImageNet layout: input (N, in_channels, 224, 224) -> stem 7x7 stride 2 and 3x3 max pooling
    -> (N, 64, 56, 56) -> stages -> (N, 512 * expansion, 7, 7) -> pooled -> (N, num_classes).
    ``small_input=True`` (32x32 or 8x8 images) uses a 3x3 stride-1 stem and no max pooling, so
    a 32x32 image reaches the last stage at 4x4 and an 8x8 one at 1x1.
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            self.conv1 = conv3x3(in_channels, 64)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        width = block.expansion
        self.layer1 = make_stage(block, 64, 64, layers[0], stride=1)
        self.layer2 = make_stage(block, 64 * width, 128, layers[1], stride=2)
        self.layer3 = make_stage(block, 128 * width, 256, layers[2], stride=2)
        self.layer4 = make_stage(block, 256 * width, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512 * width, num_classes)
        self.apply(init_weights)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = self.flatten(x)
        x = self.fc(x)
        return x


@register_model("resnet18", small_input=True)
def resnet18(num_classes=1000, in_channels=3, small_input=False):
    """ResNet-18: BasicBlocks [2, 2, 2, 2]."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, small_input)


@register_model("resnet34", small_input=True)
def resnet34(num_classes=1000, in_channels=3, small_input=False):
    """ResNet-34: BasicBlocks [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, small_input)


@register_model("resnet50", small_input=True)
def resnet50(num_classes=1000, in_channels=3, small_input=False):
    """ResNet-50: Bottlenecks [3, 4, 6, 3]."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, small_input)


def _deep_net(depth, residual, width, num_classes, in_channels, batch_norm):
    """Stem conv3x3, depth - 2 more 3x3 convolutions (in residual pairs or plain), pooling, linear:
    ``depth`` weight layers in all. Input (N, in_channels, H, W) -> (N, num_classes)."""
    if depth < 4 or depth % 2:
        raise ValueError(f"depth counts the stem, the 3x3 layers in pairs and the linear layer, so it must "
                         f"be an even number >= 4, got {depth!r}")
    norm = nn.BatchNorm2d if batch_norm else nn.Identity
    body = []
    for _ in range((depth - 2) // 2):
        if residual:
            body.append(ResidualBlock(width, width, batch_norm=batch_norm))
        else:
            body += [conv3x3(width, width), norm(width), nn.ReLU(), conv3x3(width, width), norm(width), nn.ReLU()]
    return nn.Sequential(
        conv3x3(in_channels, width), norm(width), nn.ReLU(), *body,
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes),
    )


@register_model("plain20", depth=20)
def plain_net(depth, width=16, num_classes=10, in_channels=1, batch_norm=False):
    """A deep stack of 3x3 convolutions and ReLUs without shortcuts: ``depth`` weight layers.

    It keeps torch's default initialization (weights of variance 1 / (3 * fan_in), not He's
    2 / fan_in) and, by default, no batch norm: each layer then shrinks the signal, forward and
    backward, so the gradient reaching the first layers vanishes. ``residual_net`` is the twin
    with shortcuts. Input (N, in_channels, H, W) -> (N, num_classes).
    """
    return _deep_net(depth, False, width, num_classes, in_channels, batch_norm)


@register_model("tiny", depth=4, width=8)   # about 1,300 parameters: for smoke tests
@register_model("residual20", depth=20)
def residual_net(depth, width=16, num_classes=10, in_channels=1, batch_norm=False):
    """The same layers as ``plain_net(depth, ...)``, paired into identity-shortcut residual blocks."""
    return _deep_net(depth, True, width, num_classes, in_channels, batch_norm)
