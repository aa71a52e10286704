# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""The widely used UNet (milesial/Pytorch-UNet unet_parts.py): DoubleConv with BatchNorm, Down
(MaxPool2d + DoubleConv), Up (bilinear nn.Upsample, F.pad for odd sizes, torch.cat skip),
OutConv; BCEWithLogitsLoss, RMSprop as in its train.py; widths reduced, 30x30 synthetic masks
(odd sizes on the way down, so F.pad has work to do)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            nn.MaxPool2d(2),
            DoubleConv(in_channels, out_channels)
        )

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()

        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]

        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                        diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(OutConv, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=True, width=4):
        super(UNet, self).__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear

        factor = 2 if bilinear else 1
        self.inc = DoubleConv(n_channels, width)
        self.down1 = Down(width, width * 2)
        self.down2 = Down(width * 2, width * 4 // factor)
        self.up1 = Up(width * 4, width * 2 // factor, bilinear)
        self.up2 = Up(width * 2, width, bilinear)
        self.outc = OutConv(width, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        logits = self.outc(x)
        return logits


def run(steps=3):
    torch.manual_seed(0)
    device = torch.device('cpu')
    rng = np.random.default_rng(0)
    images = rng.random((4 * steps, 3, 30, 30)).astype(np.float32)
    masks = (rng.random((4 * steps, 1, 30, 30)) > 0.5).astype(np.float32)
    train_loader = DataLoader(TensorDataset(torch.from_numpy(images), torch.from_numpy(masks)),
                              shuffle=False, batch_size=4)

    model = UNet(n_channels=3, n_classes=1, bilinear=True)
    model = model.to(memory_format=torch.channels_last)
    model.to(device=device)
    PREPARE(model)
    optimizer = optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8, momentum=0.999,
                              foreach=True)
    criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()

    log = {"losses": [], "grads": {}, "outputs": []}
    model.train()
    for step, (images_b, true_masks) in enumerate(train_loader):
        images_b = images_b.to(device=device, dtype=torch.float32,
                               memory_format=torch.channels_last)
        true_masks = true_masks.to(device=device, dtype=torch.float32)

        masks_pred = model(images_b)
        loss = criterion(masks_pred, true_masks)

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if step == 0:
            log["grads"] = {n: p.grad.numpy().copy() for n, p in model.named_parameters()
                            if n in ("inc.double_conv.0.weight", "up1.conv.double_conv.1.weight",
                                     "outc.conv.bias")}
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        log["losses"].append(loss.item())
        print("step {} loss {:.6f}".format(step, loss.item()))

    model.eval()
    with torch.no_grad():
        log["outputs"].append(torch.sigmoid(model(torch.from_numpy(images[:2]))).numpy())
    return log


if __name__ == '__main__':
    run()
