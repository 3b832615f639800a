"""mlcourse.models: the classic architectures, their parameter counts and shapes, residual blocks,
the layer summary and the gradient-flow study. Big models are built on the meta device: real
modules whose parameters have shapes but no storage, so counting and shape walks cost nothing."""
import pytest
import torch
from torch import nn

from mlcourse.data import load_digits
from mlcourse.models import (
    MODELS,
    BasicBlock,
    Bottleneck,
    ResidualBlock,
    alexnet,
    build_model,
    count_parameters,
    gradient_flow,
    plain_net,
    residual_net,
    resnet18,
    resnet34,
    resnet50,
    summary,
    vgg11,
    vgg13,
    vgg16,
    vgg19,
)


def on_meta(build, *args, **kwargs):
    with torch.device("meta"):
        return build(*args, **kwargs)


@pytest.mark.parametrize("build, expected", [
    (alexnet, 61_100_840), (vgg16, 138_357_544), (resnet18, 11_689_512), (resnet50, 25_557_032),
    (vgg11, 132_863_336), (vgg13, 133_047_848), (vgg19, 143_667_240), (resnet34, 21_797_672),
])
def test_parameter_counts_equal_the_published_ones(build, expected):
    model = on_meta(build)
    assert count_parameters(model) == expected
    assert model(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)


def test_vgg_batch_norm_adds_a_scale_and_shift_per_channel():
    channels = sum(c for c in [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512])
    assert count_parameters(on_meta(vgg16, batch_norm=True)) == 138_357_544 + 2 * channels
    assert sum(isinstance(m, nn.BatchNorm2d) for m in on_meta(vgg16, batch_norm=True).modules()) == 13


def test_count_parameters_can_skip_frozen_ones():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))      # 16 + 10 parameters
    model[0].requires_grad_(False)
    assert count_parameters(model) == 26 and count_parameters(model, trainable_only=True) == 10


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("channels, size", [(3, 32), (1, 8)])
def test_small_input_variants_take_cifar_and_digits_images(name, channels, size):
    model = on_meta(build_model, name, 10, channels)
    assert model(torch.empty(5, channels, size, size, device="meta")).shape == (5, 10)


def test_small_input_resnet_computes_real_scores_and_gradients():
    torch.manual_seed(0)
    model = resnet18(num_classes=10, small_input=True)
    scores = model(torch.randn(2, 3, 32, 32))
    scores.sum().backward()
    assert scores.shape == (2, 10) and torch.isfinite(scores).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_build_model_names_the_choices():
    with pytest.raises(ValueError, match="unknown model 'nonexistent'"):
        build_model("nonexistent", 10, 3)


def test_summary_walks_alexnet_to_its_classifier(capsys):
    model = on_meta(alexnet)
    rows = summary(model, (3, 224, 224))
    printed = capsys.readouterr().out
    shapes = {name: shape for name, _, shape, _ in rows}
    assert shapes["features.0"] == (64, 55, 55)
    assert shapes["features.12"] == (256, 6, 6)
    assert shapes["flatten"] == (256 * 6 * 6,)
    assert shapes["classifier.6"] == (1000,)
    assert sum(params for *_, params in rows) == 61_100_840
    assert "256 x 6 x 6" in printed and "total parameters: 61,100,840" in printed


@pytest.mark.parametrize("build, features", [(vgg16, 512 * 7 * 7), (resnet50, 2048)])
def test_summary_counts_every_parameter_once_and_restores_the_mode(build, features):
    model = on_meta(build).train()
    rows = summary(model, (3, 224, 224), print_fn=lambda line: None)
    assert dict((name, shape) for name, _, shape, _ in rows)["flatten"] == (features,)
    assert sum(params for *_, params in rows) == count_parameters(model)
    assert model.training


def test_summary_rejects_a_batch_dimension():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        summary(on_meta(alexnet), (1, 3, 224, 224))


def zero_last_norm(block, name):
    nn.init.zeros_(getattr(block, name).weight)
    return block.eval()


def test_identity_shortcut_passes_the_input_through():
    # with the residual branch's last batch norm scaled to zero, F(x) = 0 and out = relu(x)
    block = zero_last_norm(ResidualBlock(4, 4), "bn2")
    x = torch.randn(2, 4, 5, 5)
    assert isinstance(block.shortcut, nn.Identity)
    assert torch.equal(block(x), torch.relu(x))


def test_residual_block_adds_its_branch_to_the_shortcut():
    torch.manual_seed(0)
    block = ResidualBlock(3, 6, stride=2, use_1x1conv=True).eval()
    x = torch.randn(2, 3, 8, 8)
    out = block(x)
    assert out.shape == (2, 6, 4, 4)
    assert torch.allclose(out, torch.relu(block.residual(x) + block.shortcut(x)))
    assert count_parameters(block.shortcut) == 3 * 6 + 2 * 6     # 1x1 conv and its batch norm


def test_identity_shortcut_cannot_change_the_shape():
    with pytest.raises(ValueError, match="use_1x1conv=True"):
        ResidualBlock(3, 6)
    with pytest.raises(ValueError, match="use_1x1conv=True"):
        ResidualBlock(4, 4, stride=2)


@pytest.mark.parametrize("block, in_channels, channels, stride, projects", [
    (BasicBlock, 8, 8, 1, False), (BasicBlock, 8, 16, 2, True),
    (Bottleneck, 32, 8, 1, False), (Bottleneck, 8, 8, 1, True), (Bottleneck, 32, 16, 2, True),
])
def test_blocks_project_exactly_when_the_shape_changes(block, in_channels, channels, stride, projects):
    module = block(in_channels, channels, stride).eval()
    out = module(torch.randn(2, in_channels, 8, 8))
    assert out.shape == (2, channels * block.expansion, 8 // stride, 8 // stride)
    assert isinstance(module.shortcut, nn.Identity) != projects


def test_bottleneck_is_identity_when_its_branch_is_silenced():
    block = zero_last_norm(Bottleneck(16, 4), "bn3")
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(block(x), torch.relu(x))


@pytest.fixture(scope="module")
def digits_batch():
    d = load_digits(flatten=False)
    return torch.tensor(d["X_train"][:64] / 16, dtype=torch.float32), torch.tensor(d["y_train"][:64])


def test_plain_and_residual_twins_have_the_same_layers():
    plain, residual = plain_net(20), residual_net(20)
    assert count_parameters(plain) == count_parameters(residual)
    convs = [m for m in residual.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(convs) == 20


def test_gradients_vanish_in_a_deep_plain_net_but_not_in_its_residual_twin(digits_batch):
    x, y = digits_batch
    flows = {}
    for build in (plain_net, residual_net):
        torch.manual_seed(0)
        model = build(20)
        flows[build.__name__] = gradient_flow(model, x, y)
        assert all(p.grad is None for p in model.parameters())
    plain, residual = flows["plain_net"], flows["residual_net"]
    assert len(plain) == len(residual) == 20
    assert plain[0]["layer"] == "0" and plain[-1]["layer"] == "59"   # stem conv ... linear
    # the signal reaching the first layer, relative to the one leaving the last convolution
    assert plain[0]["output_grad"] / plain[-2]["output_grad"] < 1e-3
    assert residual[0]["output_grad"] / residual[-2]["output_grad"] > 0.1
    assert plain[0]["weight_grad"] < 1e-3 * residual[0]["weight_grad"]


def test_deep_net_depth_must_be_even():
    with pytest.raises(ValueError, match="even number >= 4"):
        plain_net(7)
