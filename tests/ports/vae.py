# ruff: noqa: UP008, UP031, UP032, N802  (the upstream examples' own style, kept as written)
"""pytorch/examples vae/main.py: the same VAE (784-400-20), reparameterize with randn_like,
BCE (reduction='sum') + KLD loss, Adam; synthetic [0, 1] images instead of MNIST."""
import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F


def PREPARE(model):  # the test may replace this (it copies weights before training)
    pass


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

    # see Appendix B from VAE paper:
    # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    return BCE + KLD


def run(steps=3):
    torch.manual_seed(1)
    device = torch.device("cpu")
    rng = np.random.default_rng(0)
    images = rng.random((8 * steps, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, size=8 * steps)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(images), torch.tensor(labels)),
        batch_size=8, shuffle=False)

    model = VAE().to(device)
    PREPARE(model)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    log = {"losses": [], "grads": {}, "outputs": []}
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        if batch_idx == 0:
            log["grads"] = {"fc1.weight": model.fc1.weight.grad.numpy().copy(),
                            "fc22.bias": model.fc22.bias.grad.numpy().copy(),
                            "fc4.weight": model.fc4.weight.grad.numpy().copy()}
        optimizer.step()
        log["losses"].append(loss.item() / len(data))
        print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
            1, batch_idx * len(data), len(train_loader.dataset),
            100. * batch_idx / len(train_loader),
            loss.item() / len(data)))

    model.eval()
    with torch.no_grad():
        sample = torch.randn(4, 20).to(device)
        sample = model.decode(sample).cpu()
        log["outputs"].append(sample.view(4, 1, 28, 28).numpy())
    return log


if __name__ == '__main__':
    run()
