# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""pytorch/examples fast_neural_style/transformer_net.py: TransformerNet (ReflectionPad2d convs,
InstanceNorm2d(affine=True), residual blocks, nearest upsampling with F.interpolate), trained
with an MSE content loss on its outputs and Adam; widths reduced, 32x32 synthetic images."""
import numpy as np
import torch
import torch.nn.functional as F
from torch.optim import Adam
from torch.utils.data import DataLoader, TensorDataset


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


class TransformerNet(torch.nn.Module):
    def __init__(self, width=8):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, width, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(width, affine=True)
        self.conv2 = ConvLayer(width, width * 2, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(width * 2, affine=True)
        self.conv3 = ConvLayer(width * 2, width * 4, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(width * 4, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(width * 4)
        self.res2 = ResidualBlock(width * 4)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(width * 4, width * 2, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(width * 2, affine=True)
        self.deconv2 = UpsampleConvLayer(width * 2, width, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(width, affine=True)
        self.deconv3 = ConvLayer(width, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = F.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def run(steps=3):
    torch.manual_seed(42)
    device = torch.device("cpu")
    rng = np.random.default_rng(0)
    images = (rng.random((4 * steps, 3, 32, 32)) * 255).astype(np.float32)
    style = rng.random((1, 3, 32, 32)).astype(np.float32)
    train_loader = DataLoader(TensorDataset(torch.from_numpy(images)), batch_size=4)

    transformer = TransformerNet().to(device)
    PREPARE(transformer)
    optimizer = Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    content_weight, style_weight = 1e5, 1e4

    gram_style = gram_matrix(torch.from_numpy(style)).repeat(4, 1, 1)

    log = {"losses": [], "grads": {}, "outputs": []}
    transformer.train()
    for batch_id, (x,) in enumerate(train_loader):
        n_batch = len(x)
        optimizer.zero_grad()

        x = x.to(device)
        y = transformer(x / 255.)

        content_loss = content_weight * mse_loss(y, x / 255.)
        gm_y = gram_matrix(y)
        style_loss = style_weight * mse_loss(gm_y, gram_style[:n_batch])
        total_loss = content_loss + style_loss
        total_loss.backward()
        if batch_id == 0:
            log["grads"] = {n: p.grad.numpy().copy()
                            for n, p in transformer.named_parameters()
                            if n in ("conv1.conv2d.weight", "in3.weight", "res1.in1.weight",
                                     "deconv3.conv2d.bias")}
        optimizer.step()
        log["losses"].append([content_loss.item(), style_loss.item()])
        print("batch {}\tcontent: {:.6f}\tstyle: {:.6f}\ttotal: {:.6f}".format(
            batch_id, content_loss.item(), style_loss.item(), total_loss.item()))

    transformer.eval()
    with torch.no_grad():
        output = transformer(torch.from_numpy(images[:1]) / 255.).clamp(0, 255)
    log["outputs"].append(output.numpy())
    return log


if __name__ == '__main__':
    run()
