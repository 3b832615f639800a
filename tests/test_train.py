"""mlcourse.models.train, checkpoints and resume, the `mlcourse train` command, and data-parallel
training with torchrun (2 CPU processes on gloo against one process on the same global batches)."""
import argparse
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from mlcourse.cli.train import add_arguments, add_parser, run_training
from mlcourse.models import TrainConfig, build_model, load_checkpoint, load_training_data, save_checkpoint, train
from mlcourse.models import training
from mlcourse.models.train_ddp import main as ddp_main

CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine; GPU training is skipped")


@pytest.fixture(scope="module")
def digits():
    train_data, val_data, _, _ = load_training_data("digits")
    return train_data, val_data


def small_cnn(seed=0, dropout=0.25):
    """(N, 1, 8, 8) -> (N, 10), with dropout so that seeding the masks matters."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(8 * 4 * 4, 10))


def subset(pair, n):
    return pair[0][:n], pair[1][:n]


def weights(model):
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b, **tol):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], **tol)


QUIET = dict(progress=False, device="cpu")


def test_training_learns_the_digits_and_returns_history(digits):
    model = small_cnn()
    history = train(model, *digits, epochs=3, lr=0.05, batch_size=64, **QUIET)
    assert history["epoch"] == [1, 2, 3]
    assert set(history) == set(training.HISTORY_KEYS)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.85


def test_same_seed_same_weights_other_seed_other_weights(digits):
    runs = {}
    for name, seed in [("a", 1), ("b", 1), ("c", 2)]:
        model = small_cnn()
        train(model, subset(digits[0], 256), None, epochs=2, batch_size=32, seed=seed, **QUIET)
        runs[name] = weights(model)
    assert_same_weights(runs["a"], runs["b"], rtol=0, atol=0)
    assert not torch.equal(runs["a"]["5.weight"], runs["c"]["5.weight"])


def test_resumed_run_equals_an_uninterrupted_one(digits, tmp_path, monkeypatch):
    data = subset(digits[0], 192)
    settings = dict(epochs=3, lr=0.05, batch_size=32, schedule="cosine", seed=3, **QUIET)
    straight = small_cnn()
    straight_history = train(straight, data, digits[1], **settings)
    path = tmp_path / "run.pt"

    def save_then_crash(*args):
        save_checkpoint(*args)
        raise KeyboardInterrupt("the machine went away")

    monkeypatch.setattr(training, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train(small_cnn(), data, digits[1], **settings, checkpoint=path)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    resumed = small_cnn(seed=123)                     # another start: the checkpoint must win
    history = train(resumed, data, digits[1], **settings, checkpoint=path, resume=True)
    assert_same_weights(weights(resumed), weights(straight), rtol=0, atol=0)
    assert history == straight_history | {"seconds": history["seconds"]}
    assert load_checkpoint(path)["epoch"] == 3
    assert sorted(os.listdir(tmp_path)) == ["run.pt"]


def test_resume_without_a_checkpoint_starts_afresh_and_a_wrong_model_is_refused(digits, tmp_path):
    path = tmp_path / "new.pt"
    history = train(small_cnn(), subset(digits[0], 64), None, epochs=1, checkpoint=path, resume=True, **QUIET)
    assert history["epoch"] == [1] and path.exists()
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ValueError, match="does not fit this model"):
        train(other, subset(digits[0], 64), None, epochs=2, checkpoint=path, resume=True, **QUIET)


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})

    def broken_save(state, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(training.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ck.pt"]          # no temporary file left behind


def test_gradient_clipping_bounds_the_step(digits):
    model = small_cnn(dropout=0.0)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    data = subset(digits[0], 64)
    train(model, data, None, epochs=1, lr=0.5, batch_size=64, momentum=0.0, weight_decay=0.0,
          clip_norm=1e-3, **QUIET)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    # one plain SGD step on a gradient clipped to norm 1e-3 moves the weights by lr * 1e-3
    assert (after - before).norm().item() == pytest.approx(0.5 * 1e-3, rel=1e-4)


@pytest.mark.parametrize("change, message", [
    (lambda X, y: (X.expand(-1, 3, -1, -1), y), r"cannot take images of shape \(C, H, W\) = \(3, 8, 8\)"),
    (lambda X, y: (X[:, 0], y), r"\(N, C, H, W\)"),
    (lambda X, y: (X[:0], y[:0]), "empty"),
    (lambda X, y: (X, torch.where(y == 3, 10, y)), r"\[0, 10\)"),
    (lambda X, y: (X, y[:-1]), "one label per row"),
    (lambda X, y: [X], "pair"),
])
@pytest.mark.parametrize("which", ["train", "val"])
def test_bad_data_is_refused_before_training(digits, change, message, which):
    model = small_cnn()
    before = weights(model)
    good, bad = subset(digits[0], 64), change(*subset(digits[1], 64))
    args = (good, bad) if which == "val" else (bad, good)
    with pytest.raises(ValueError, match=message):
        train(model, *args, epochs=1, **QUIET)
    assert_same_weights(weights(model), before, rtol=0, atol=0)


@pytest.mark.parametrize("settings, message", [
    (dict(epochs=0), "epochs"), (dict(lr=-1.0), "lr"), (dict(batch_size=0), "batch_size"),
    (dict(amp=True), "needs a CUDA device"), (dict(optimizer="rmsprop"), "'sgd' or 'adam'"),
    (dict(clip_norm=0.0), "clip_norm"), (dict(resume=True), "checkpoint path"),
])
def test_bad_settings_are_refused(digits, settings, message):
    with pytest.raises(ValueError, match=message):
        train(small_cnn(), subset(digits[0], 8), None, **{**QUIET, **settings})


def test_one_set_of_defaults_for_the_library_and_the_command():
    config = TrainConfig()
    assert (config.lr, config.schedule) == (0.05, "cosine")      # what the course trains with
    args = parse([])
    assert all(getattr(args, name) == getattr(config, name) for name in TrainConfig.fields() if name != "amp")


def test_an_unknown_setting_names_the_valid_ones(digits):
    with pytest.raises(TypeError, match="unknown training setting learning_rate.*epochs, lr, batch_size"):
        train(small_cnn(), subset(digits[0], 8), None, learning_rate=0.1, **QUIET)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train(small_cnn(), subset(digits[0], 8), None, 3, **QUIET)


def test_a_checkpoint_keeps_its_config_and_resume_checks_it(digits, tmp_path):
    path, data = tmp_path / "run.pt", subset(digits[0], 64)
    config = TrainConfig(epochs=1, lr=0.1, batch_size=32)
    train(small_cnn(), data, None, config, checkpoint=path, **QUIET)
    assert load_checkpoint(path)["config"] == {**vars(config), "amp": False}
    with pytest.raises(ValueError, match=r"other settings: lr 0\.1 in the checkpoint, 0\.05 now; resume"):
        train(small_cnn(), data, None, config, lr=0.05, checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match="epochs 1 in the checkpoint, 2 now"):       # cosine needs the total
        train(small_cnn(), data, None, config, epochs=2, checkpoint=path, resume=True, **QUIET)
    constant = config.replace(schedule="constant")
    train(small_cnn(), data, None, constant, checkpoint=path, **QUIET)
    history = train(small_cnn(), data, None, constant, epochs=2, checkpoint=path, resume=True, **QUIET)
    assert history["epoch"] == [1, 2]                   # the constant schedule may train on


def parse(argv, register=add_arguments):
    parser = argparse.ArgumentParser()
    register(parser)
    return parser.parse_args(argv)


def test_mlcourse_train_command_trains_on_digits(capsys):
    parser = argparse.ArgumentParser(prog="mlcourse")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--model", "tiny", "--data", "digits", "--epochs", "1",
                              "--limit", "128", "--quiet", "--device", "cpu"])
    args.func(args)
    assert "tiny on digits: validation accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_below_one_image_is_refused(limit):
    with pytest.raises(ValueError, match="limit must be an integer >= 1"):
        load_training_data("digits", limit=limit)


def test_mlcourse_train_says_how_to_fetch_cifar10(tmp_path):
    args = parse(["--data", "cifar10", "--root", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="mlcourse data fetch cifar10"):
        run_training(args)


def test_train_ddp_without_torchrun_trains_in_one_process(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    path = tmp_path / "one.pt"
    assert ddp_main(["--model", "tiny", "--epochs", "1", "--limit", "64", "--quiet",
                     "--checkpoint", str(path)]) == 0
    assert load_checkpoint(path)["epoch"] == 1
    assert "(1 process): validation accuracy" in capsys.readouterr().out


DDP_ARGS = ["--model", "tiny", "--data", "digits", "--epochs", "2", "--limit", "250", "--batch-size", "45",
            "--lr", "0.1", "--quiet"]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_same_global_batches(tmp_path):
    # 250 images in global batches of 45: each process gets 23 or 22 images, and the last batch
    # of 25 splits 13/12, so the equality also checks the loss scaling for uneven slices
    path = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "mlcourse.models.train_ddp", *DDP_ARGS, "--backend", "gloo",
                           "--checkpoint", str(path)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tiny on digits (2 processes (gloo)): validation accuracy" in done.stdout
    distributed = load_checkpoint(path)
    model, history = run_training(parse(DDP_ARGS), device="cpu")
    assert_same_weights(distributed["model"], weights(model), rtol=1e-5, atol=1e-6)
    assert distributed["history"]["train_loss"] == pytest.approx(history["train_loss"], rel=1e-5)
    torch.manual_seed(0)
    initial = weights(build_model("tiny", 10, 1))
    assert not torch.equal(initial["3.conv1.weight"], distributed["model"]["3.conv1.weight"])     # it did train


@CUDA
@pytest.mark.gpu
def test_training_on_cuda_uses_mixed_precision_and_resumes(digits, tmp_path):
    path = tmp_path / "gpu.pt"
    model = small_cnn()
    history = train(model, *digits, epochs=2, lr=0.05, batch_size=64, schedule="constant", progress=False,
                    checkpoint=path)
    assert next(model.parameters()).device.type == "cuda"
    assert "scale" in load_checkpoint(path)["scaler"]              # a live GradScaler: AMP was on
    assert history["val_acc"][-1] > 0.7
    resumed = small_cnn(seed=5)
    train(resumed, *digits, epochs=3, lr=0.05, batch_size=64, schedule="constant", progress=False, checkpoint=path,
          resume=True)
    assert load_checkpoint(path)["epoch"] == 3
