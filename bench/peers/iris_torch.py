"""Time per-step training overhead on iris in PyTorch (CPU, 2 threads).

Network 4 -> Linear(16) ReLU -> Linear(3), CrossEntropyLoss on the logits,
Adam with torch defaults, batch 16. A plain Python loop slices a new
permutation every epoch: 10 steps per epoch (the last one has 6 rows), so 200
epochs are 2000 steps. One unmeasured epoch runs first, as in iris_keras.py.
"""

import resource
import time

import torch
from torch import nn

import iris_data

EPOCHS = 200
BATCH_SIZE = 16


def train_epoch(model, optimizer, loss_function, x, y):
    """Run one shuffled epoch and return its mean training loss."""
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

    x_np, y_np = iris_data.load()
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)
    steps = EPOCHS * -(-x.shape[0] // BATCH_SIZE)

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters())
    loss_function = nn.CrossEntropyLoss()
    model.train()

    train_epoch(model, optimizer, loss_function, x, y)

    start = time.perf_counter()
    loss = float("nan")
    for _ in range(EPOCHS):
        loss = train_epoch(model, optimizer, loss_function, x, y)
    total = time.perf_counter() - start

    print(
        f"peer=torch workload=iris total_s={total:.3f} epochs={EPOCHS} steps={steps} "
        f"step_us={total / steps * 1e6:.0f} warmup_epochs=1 final_loss={loss:.4f} "
        f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} "
        f"torch={torch.__version__} threads=2"
    )


if __name__ == "__main__":
    main()
