"""The classic architectures as torch ``nn.Module``s, tools to inspect them, and training.

Builders: ``alexnet``, ``vgg11``/``vgg13``/``vgg16``/``vgg19`` (``batch_norm=``), ``resnet18``/
``resnet34``/``resnet50``, each with ``num_classes``, ``in_channels`` and ``small_input`` (32x32
and 8x8 images instead of 224x224); ``plain_net``/``residual_net`` for the gradient-flow study.
Images are (N, C, H, W); scores (N, num_classes).
"""
from .alexnet import AlexNet, alexnet
from .analysis import count_parameters, gradient_flow, summary
from .layers import conv1x1, conv3x3, init_weights
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResidualBlock,
    ResNet,
    plain_net,
    residual_net,
    resnet18,
    resnet34,
    resnet50,
)
from .training import load_checkpoint, save_checkpoint, train
from .vgg import CONFIGS as VGG_CONFIGS
from .vgg import VGG, vgg11, vgg13, vgg16, vgg19


def _small(build, **options):
    return lambda num_classes, in_channels: build(num_classes, in_channels=in_channels, small_input=True, **options)


def _deep(build, depth, **options):
    return lambda num_classes, in_channels: build(depth, num_classes=num_classes, in_channels=in_channels, **options)


# name -> builder(num_classes, in_channels) for 32x32 and 8x8 images, as the command line offers them
MODELS = {
    "alexnet": _small(alexnet),
    "vgg11": _small(vgg11), "vgg11_bn": _small(vgg11, batch_norm=True),
    "vgg13": _small(vgg13), "vgg13_bn": _small(vgg13, batch_norm=True),
    "vgg16": _small(vgg16), "vgg16_bn": _small(vgg16, batch_norm=True),
    "vgg19": _small(vgg19), "vgg19_bn": _small(vgg19, batch_norm=True),
    "resnet18": _small(resnet18), "resnet34": _small(resnet34), "resnet50": _small(resnet50),
    "plain20": _deep(plain_net, 20), "residual20": _deep(residual_net, 20),
    "tiny": _deep(residual_net, 4, width=8),          # about 1,300 parameters: for smoke tests
}


def build_model(name, num_classes, in_channels):
    """One of ``MODELS`` for small images: (N, in_channels, H, W) -> (N, num_classes)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](num_classes, in_channels)
