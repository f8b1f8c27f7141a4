"""The networks: the small CNN of the default run, conv3×3(w)–pool–conv3×3(2w)–pool–fc256–fc10, ReLU (0.82 M
parameters at w = 32; big enough to overfit 5,000 images, so a regulariser has something to do), and the official
mixup code's PreAct ResNet-18 for CIFAR-10 (He et al. 2016, identity mappings; the layout of kuangliu/pytorch-cifar,
which facebookresearch/mixup-cifar10 uses: no BN-ReLU after the last block, 4×4 average pool, one linear layer)."""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Sequential):
    def __init__(self, width: int = 32, classes: int = 10, channels: int = 1):
        super().__init__(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 256),
            nn.ReLU(),
            nn.Linear(256, classes),
        )


class PreActBlock(nn.Module):
    def __init__(self, inputs: int, planes: int, stride: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(inputs), nn.BatchNorm2d(planes)
        self.conv1 = nn.Conv2d(inputs, planes, 3, stride=stride, padding=1, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(inputs, planes, 1, stride=stride, bias=False) if stride != 1 or inputs != planes else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        return self.conv2(torch.relu(self.bn2(out))) + skip


class PreActResNet18(nn.Module):
    def __init__(self, classes: int = 10, channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, padding=1, bias=False)
        blocks, inputs = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [PreActBlock(inputs, planes, stride), PreActBlock(planes, planes, 1)]
            inputs = planes
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(self.conv1(x))
        return self.linear(torch.nn.functional.avg_pool2d(out, 4).flatten(1))


def make_model(arch: str, width: int, channels: int) -> nn.Module:
    return SmallCNN(width, channels=channels) if arch == "small_cnn" else PreActResNet18(channels=channels)


def mixed_loss(logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam_y: torch.Tensor) -> torch.Tensor:
    """Per-sample λy·CE(p, y_a) + (1 − λy)·CE(p, y_b) (= CE against the soft target λy·y_a + (1 − λy)·y_b)."""
    logp = torch.log_softmax(logits, dim=1)
    return -(lam_y * logp.gather(1, y_a[:, None])[:, 0] + (1 - lam_y) * logp.gather(1, y_b[:, None])[:, 0])
