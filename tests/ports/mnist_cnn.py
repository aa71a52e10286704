# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""pytorch/examples mnist/main.py, shrunk: the same Net, Adadelta + StepLR, DataLoader over a
TensorDataset of synthetic 28x28 digits, train() / test() loops as in the example."""
import argparse
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.random((n, 1, 28, 28), dtype=np.float32)
    images = (images - 0.1307) / 0.3081
    labels = rng.integers(0, 10, size=n)
    return TensorDataset(torch.from_numpy(images.astype(np.float32)), torch.tensor(labels))


def train(model, device, train_loader, optimizer, epoch, log, steps):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        if batch_idx >= steps:
            break
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        if not log["grads"]:
            log["grads"] = {name: p.grad.detach().cpu().numpy().copy()
                            for name, p in model.named_parameters()
                            if name in ("conv1.weight", "fc1.weight", "fc2.bias")}
        optimizer.step()
        log["losses"].append(loss.item())
        if batch_idx % 10 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader, log):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
            log["outputs"].append(output.numpy().copy())

    test_loss /= len(test_loader.dataset)
    log["test_loss"] = test_loss
    log["correct"] = correct
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


def run(steps=3, argv=()):
    # Training settings
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
    parser.add_argument('--batch-size', type=int, default=8, metavar='N',
                        help='input batch size for training (default: 8)')
    parser.add_argument('--test-batch-size', type=int, default=8, metavar='N',
                        help='input batch size for testing (default: 8)')
    parser.add_argument('--epochs', type=int, default=2, metavar='N',
                        help='number of epochs to train (default: 2)')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                        help='learning rate (default: 1.0)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='Learning rate step gamma (default: 0.7)')
    parser.add_argument('--no-cuda', action='store_true', default=False,
                        help='disables CUDA training')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--save-model', action='store_true', default=True,
                        help='For Saving the current Model')
    args = parser.parse_args(list(argv))
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {'batch_size': args.batch_size}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    dataset1 = make_data(8 * steps, seed=0)
    dataset2 = make_data(8, seed=1)
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    PREPARE(model)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    log = {"losses": [], "grads": {}, "outputs": [], "lr": []}
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(model, device, train_loader, optimizer, epoch, log, steps)
        test(model, device, test_loader, log)
        scheduler.step()
        log["lr"].append(optimizer.param_groups[0]['lr'])

    if args.save_model:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "mnist_cnn.pt")
            torch.save(model.state_dict(), path)
            restored = Net()
            restored.load_state_dict(torch.load(path, weights_only=True))
        restored.eval()
        with torch.no_grad():
            data, _ = next(iter(test_loader))
            log["restored"] = restored(data).numpy()
    return log


if __name__ == '__main__':
    run()
