"""Time Fashion-MNIST MLP training epochs in PyTorch (CPU, 2 threads).

Model 784 -> Linear(256) ReLU -> Linear(128) ReLU -> Linear(10), CrossEntropyLoss on
the logits, Adam with torch defaults (lr 1e-3, eps 1e-8), batch 128. Each epoch
draws a new permutation and slices minibatches from in-memory tensors (no
DataLoader). Epoch 1 is the warm-up and the median covers epochs 2 to 4.
"""

import resource
import statistics
import time

import torch
from torch import nn

import fmnist

WARMUP_EPOCHS = 1
TIMED_EPOCHS = 3
BATCH_SIZE = 128


def peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_epoch(model, optimizer, loss_function, x, y):
    """Run one shuffled epoch and return its mean training loss."""
    model.train()
    order = torch.randperm(x.shape[0])
    total_loss = 0.0
    for start in range(0, x.shape[0], BATCH_SIZE):
        index = order[start : start + BATCH_SIZE]
        optimizer.zero_grad()
        loss = loss_function(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * index.shape[0]
    return total_loss / x.shape[0]


def main():
    torch.set_num_threads(2)
    torch.set_num_interop_threads(2)

    x_np, y_np = fmnist.load("train")
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)

    model = nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters())
    loss_function = nn.CrossEntropyLoss()

    seconds = []
    loss = float("nan")
    for _ in range(WARMUP_EPOCHS + TIMED_EPOCHS):
        start = time.perf_counter()
        loss = train_epoch(model, optimizer, loss_function, x, y)
        seconds.append(time.perf_counter() - start)

    timed = seconds[WARMUP_EPOCHS:]
    print(
        f"peer=torch workload=mlp epoch_s_median={statistics.median(timed):.3f} "
        f"epoch_s={','.join(f'{s:.3f}' for s in timed)} warmup_epoch_s={seconds[0]:.3f} "
        f"final_loss={loss:.4f} peak_rss_mb={peak_rss_mb():.0f} torch={torch.__version__} threads=2"
    )


if __name__ == "__main__":
    main()
