# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""A small CIFAR ResNet in torchvision's resnet.py shape (BasicBlock, BatchNorm, stride-2 with a
1x1 downsample shortcut, AdaptiveAvgPool2d((1, 1)), torch.flatten(x, 1), kaiming_normal_ fan_out
init) trained as in the usual CIFAR recipes: SGD momentum + weight_decay, CosineAnnealingLR,
clip_grad_norm_, CrossEntropyLoss; widths reduced, synthetic 32x32 images."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, TensorDataset


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=8):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 4 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )

        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))

        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)

        return x


def run(steps=3):
    torch.manual_seed(0)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    rng = np.random.default_rng(0)
    mean = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)
    images = ((rng.random((8 * steps, 3, 32, 32), dtype=np.float32) - mean) / std)
    labels = rng.integers(0, 10, size=8 * steps).astype(np.int64)
    trainset = TensorDataset(torch.from_numpy(images.astype(np.float32)),
                             torch.from_numpy(labels))
    trainloader = DataLoader(trainset, batch_size=8, shuffle=False, num_workers=0)

    net = ResNet(BasicBlock, [1, 1, 1]).to(device)
    PREPARE(net)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = CosineAnnealingLR(optimizer, T_max=200)

    log = {"losses": [], "grads": {}, "outputs": [], "lr": []}
    net.train()
    train_loss = 0
    correct = 0
    total = 0
    for batch_idx, (inputs, targets) in enumerate(trainloader):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        if batch_idx == 0:
            log["grads"] = {n: p.grad.numpy().copy() for n, p in net.named_parameters()
                            if n in ("conv1.weight", "layer2.0.downsample.0.weight",
                                     "layer3.0.bn2.weight", "fc.weight")}
        norm = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()

        train_loss += loss.item()
        _, predicted = outputs.max(1)
        total += targets.size(0)
        correct += predicted.eq(targets).sum().item()
        log["losses"].append([loss.item(), float(norm)])
        log["lr"].append(scheduler.get_last_lr()[0])
        print('%d Loss: %.3f | Acc: %.3f%% (%d/%d) | grad norm %.4f'
              % (batch_idx, train_loss / (batch_idx + 1), 100. * correct / total, correct,
                 total, float(norm)))

    net.eval()
    with torch.no_grad():
        log["outputs"].append(net(torch.from_numpy(images[:4].astype(np.float32))).numpy())
    log["running_mean"] = net.bn1.running_mean.numpy().copy()

    # Save checkpoint, then resume from it (as the usual --resume flag does) for one more step.
    acc = 100. * correct / total
    state = {
        'net': net.state_dict(),
        'acc': acc,
        'epoch': 0,
        'optimizer': optimizer.state_dict(),
        'scheduler': scheduler.state_dict(),
    }
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, 'checkpoint'), exist_ok=True)
        torch.save(state, os.path.join(folder, 'checkpoint', 'ckpt.pth'))
        checkpoint = torch.load(os.path.join(folder, 'checkpoint', 'ckpt.pth'))
    net = ResNet(BasicBlock, [1, 1, 1]).to(device)
    net.load_state_dict(checkpoint['net'])
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    optimizer.load_state_dict(checkpoint['optimizer'])
    scheduler = CosineAnnealingLR(optimizer, T_max=200)
    scheduler.load_state_dict(checkpoint['scheduler'])
    log["resumed_from"] = [checkpoint['acc'], float(checkpoint['epoch'])]
    net.train()
    inputs, targets = next(iter(trainloader))
    optimizer.zero_grad()
    loss = criterion(net(inputs), targets)
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
    optimizer.step()
    scheduler.step()
    log["resumed"] = [loss.item(), scheduler.get_last_lr()[0]]
    with torch.no_grad():
        net.eval()
        log["resumed_outputs"] = net(inputs).numpy()
    return log


if __name__ == '__main__':
    run()
