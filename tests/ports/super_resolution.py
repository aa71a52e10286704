# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""pytorch/examples super_resolution: the sub-pixel CNN (Conv2d + ReLU, PixelShuffle) with
orthogonal init, MSELoss, Adam; synthetic low-/high-resolution pairs instead of BSDS300."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def run(steps=3):
    torch.manual_seed(123)
    device = torch.device("cpu")
    upscale_factor = 3
    rng = np.random.default_rng(0)
    target = rng.random((4 * steps, 1, 24, 24)).astype(np.float32)
    low = target.reshape(4 * steps, 1, 8, 3, 8, 3).mean(axis=(3, 5))
    training_data_loader = DataLoader(
        dataset=TensorDataset(torch.from_numpy(low), torch.from_numpy(target)),
        num_workers=0, batch_size=4, shuffle=False)

    model = Net(upscale_factor=upscale_factor).to(device)
    PREPARE(model)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    log = {"losses": [], "grads": {}, "outputs": []}
    epoch_loss = 0
    for iteration, batch in enumerate(training_data_loader, 1):
        input, target = batch[0].to(device), batch[1].to(device)

        optimizer.zero_grad()
        loss = criterion(model(input), target)
        epoch_loss += loss.item()
        loss.backward()
        if iteration == 1:
            log["grads"] = {n: p.grad.numpy().copy() for n, p in model.named_parameters()
                            if n in ("conv1.weight", "conv4.weight", "conv4.bias")}
        optimizer.step()
        log["losses"].append(loss.item())
        print("===> Epoch[{}]({}/{}): Loss: {:.4f}".format(
            1, iteration, len(training_data_loader), loss.item()))

    with torch.no_grad():
        out = model(torch.from_numpy(low[:2]))
    log["outputs"].append(out.numpy())
    return log


if __name__ == '__main__':
    run()
