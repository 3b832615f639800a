"""The classic architectures as torch ``nn.Module``s, tools to inspect them, and training.

Builders: ``alexnet``, ``vgg11``/``vgg13``/``vgg16``/``vgg19`` (``batch_norm=``), ``resnet18``/
``resnet34``/``resnet50``, each with ``num_classes``, ``in_channels`` and ``small_input`` (32x32
and 8x8 images instead of 224x224); ``plain_net``/``residual_net`` for the gradient-flow study.
``MODELS``/``build_model``: the small-image variants ``mlcourse train`` offers, each registered
beside its builder (``register_model``). ``train`` with ``TrainConfig``: the training loop.
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
from .registry import MODELS, build_model, register_model
from .training import DATASETS, TrainConfig, load_checkpoint, load_training_data, save_checkpoint, train
from .vgg import CONFIGS as VGG_CONFIGS
from .vgg import VGG, vgg11, vgg13, vgg16, vgg19
