"""The five networks of bench_networks.py, each written once as PyTorch user code.

Every builder takes the framework module as its first argument — ``convgrad`` or ``torch`` —
and runs the same lines on either (``import convgrad as torch`` made literal): the model class,
its initialisation, the optimizer and the training step of the network's usual example. What
convgrad runs is therefore exactly the torch code a user would port.

A builder returns a ``Workload``: the modules (whose state_dicts the twin copies), the step
(forward, loss, backward, optimizer step; returns the loss floats), the inference forward
(``eval()`` and ``no_grad``), and how to draw a batch (NumPy arrays, the same for both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass
class Workload:
    modules: dict[str, Any]                 # name → nn.Module (state_dicts to copy)
    step: Callable[..., tuple[float, ...]]  # one training step on a batch → its loss(es)
    infer: Callable[..., Any]               # eval-mode forward under no_grad
    batch: Callable[[np.random.Generator, int, str], tuple[np.ndarray, ...]]
    optimizers: dict[str, Any]              # name → optimizer (a profile can mark its steps)


def _images(shape: tuple[int, ...], classes: int):
    def batch(rng: np.random.Generator, n: int, dtype: str) -> tuple[np.ndarray, ...]:
        x = rng.standard_normal((n, *shape)).astype(dtype)
        return x, rng.integers(0, classes, n).astype(np.int64)
    return batch


def mnist(torch, dtype) -> Workload:
    """The PyTorch examples' MNIST CNN (examples/mnist/main.py), Adadelta lr 1.0."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    model = Net().to(dtype)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)

    def step(data, target):
        model.train()
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        return (loss.item(),)

    return Workload({"net": model}, step, _classifier_infer(torch, model),
                    _images((1, 28, 28), 10), {"optimizer": optimizer})


def resnet8(torch, dtype) -> Workload:
    """CIFAR ResNet-8 (He et al. 2016, §4.2 with 1×1-conv projection shortcuts): 3 stages of
    one BasicBlock, 16/32/64 channels; SGD lr 0.1, momentum 0.9, weight decay 5e-4."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = BasicBlock(16, 16)
            self.layer2 = BasicBlock(16, 32, 2)
            self.layer3 = BasicBlock(32, 64, 2)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.linear = nn.Linear(64, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer3(self.layer2(self.layer1(out)))
            return self.linear(torch.flatten(self.pool(out), 1))

    model = ResNet().to(dtype)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    return Workload({"net": model}, _classifier_step(model, optimizer, criterion),
                    _classifier_infer(torch, model), _images((3, 32, 32), 10),
                    {"optimizer": optimizer})


def dcgan(torch, dtype, nz: int = 100, ngf: int = 64, ndf: int = 64) -> Workload:
    """DCGAN (Radford et al.; the PyTorch examples' dcgan/main.py) at 32×32: three
    ConvTranspose2d+BatchNorm+ReLU stages and Tanh; Conv2d+LeakyReLU(0.2)(+BatchNorm) and
    Sigmoid; BCELoss, Adam lr 2e-4, betas (0.5, 0.999). A step: D on real and fake, then G.
    Inference: the generator on a batch of noise."""
    nn, optim = torch.nn, torch.optim

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()).to(dtype)
    netD = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False), nn.Sigmoid()).to(dtype)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(real, noise):
        netG.train()
        netD.train()
        netD.zero_grad()
        label = torch.full((real.size(0),), 1.0, dtype=real.dtype)
        errD_real = criterion(netD(real).view(-1), label)
        errD_real.backward()
        fake = netG(noise)
        label.fill_(0.0)
        errD_fake = criterion(netD(fake.detach()).view(-1), label)
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake).view(-1), label)
        errG.backward()
        optimizerG.step()
        return (errD_real.item() + errD_fake.item(), errG.item())

    def infer(real, noise):
        netG.eval()
        with torch.no_grad():
            return netG(noise)

    def batch(rng: np.random.Generator, n: int, dtype: str) -> tuple[np.ndarray, ...]:
        real = np.tanh(rng.standard_normal((n, 3, 32, 32))).astype(dtype)
        return real, rng.standard_normal((n, nz, 1, 1)).astype(dtype)

    return Workload({"netG": netG, "netD": netD}, step, infer, batch,
                    {"optimizerD": optimizerD, "optimizerG": optimizerG})


def lenet5(torch, dtype) -> Workload:
    """LeNet-5 (LeCun et al. 1998) as tutorials write it for 28×28 MNIST: conv 1→6 (5, pad 2),
    tanh, avg pool 2, conv 6→16 (5), tanh, avg pool 2, linear 400→120→84→10; SGD lr 0.01
    momentum 0.9."""
    nn, optim = torch.nn, torch.optim
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10)).to(dtype)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Workload({"net": model}, _classifier_step(model, optimizer, nn.CrossEntropyLoss()),
                    _classifier_infer(torch, model), _images((1, 28, 28), 10),
                    {"optimizer": optimizer})


def mobilenet(torch, dtype) -> Workload:
    """A MobileNet-v1-style CIFAR net: conv 3×3 3→32 + BN + ReLU6, then four
    depthwise-separable blocks (depthwise 3×3 conv, groups = channels, + BN + ReLU6; pointwise
    1×1 conv + BN + ReLU6) 32→64, 64→128 (stride 2), 128→128, 128→256 (stride 2), average
    pool, linear 256→10; SGD lr 0.05, Nesterov momentum 0.9, weight decay 4e-5,
    cross-entropy with label smoothing 0.1.

    Why this one: depthwise-separable nets are what people choose when they must train or
    fine-tune on a CPU (MobileNet, EfficientNet-lite, the keyword-spotting DS-CNNs), and the
    depthwise convolution — groups = channels, little arithmetic per byte — is the one conv
    kind the other four networks never run, with a cost profile (memory-bound, no GEMM)
    unlike theirs."""
    nn, optim = torch.nn, torch.optim

    def separable(cin, cout, stride):
        return nn.Sequential(
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
            nn.ReLU6(inplace=True),
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True),
        separable(32, 64, 1), separable(64, 128, 2), separable(128, 128, 1),
        separable(128, 256, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(256, 10)).to(dtype)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=4e-5)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    return Workload({"net": model}, _classifier_step(model, optimizer, criterion),
                    _classifier_infer(torch, model), _images((3, 32, 32), 10),
                    {"optimizer": optimizer})


def _classifier_step(model, optimizer, criterion):
    def step(inputs, targets):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return (loss.item(),)
    return step


def _classifier_infer(torch, model):
    def infer(inputs, targets):
        model.eval()
        with torch.no_grad():
            return model(inputs)
    return infer


NETWORKS: dict[str, tuple[Callable[..., Workload], int]] = {
    "mnist": (mnist, 64), "resnet8": (resnet8, 128), "dcgan": (dcgan, 64),
    "lenet5": (lenet5, 64), "mobilenet": (mobilenet, 128)}
"""name → (builder, batch size)."""
