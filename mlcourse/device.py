"""Where torch work runs by default."""
import torch


def default_device():
    """torch.device('cuda') when a CUDA GPU is visible, else torch.device('cpu')."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
