"""Time Fashion-MNIST CNN training epochs in PyTorch (CPU, 2 threads).

The model of cnn_keras.py in PyTorch's channels-first layout: (1, 28, 28) ->
Conv2d(32, 3x3) ReLU -> MaxPool2d(2) -> Conv2d(64, 3x3) ReLU -> MaxPool2d(2) ->
Flatten -> Dropout(0.5) -> Linear(10), CrossEntropyLoss on the logits, Adam with
torch defaults (lr 1e-3, eps 1e-8), batch 128. Each epoch draws a new
permutation and slices minibatches from in-memory tensors (no DataLoader).
Epoch 1 is the warm-up and the median covers epochs 2 to 4. The test accuracy
after the 4 epochs is printed as a sanity check.
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
# See cnn_keras.py: floating-point operations of one training step per sample.
FORWARD_MACS = 26 * 26 * 9 * 32 + 11 * 11 * 288 * 64 + 1600 * 10
TRAIN_FLOP_PER_SAMPLE = 2 * (3 * FORWARD_MACS - 26 * 26 * 9 * 32)


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


def test_accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x[i : i + 1000]).argmax(1) for i in range(0, x.shape[0], 1000)])
    return (predicted == y).float().mean().item()


def main():
    torch.set_num_threads(2)
    torch.set_num_interop_threads(2)

    x_np, y_np = fmnist.load("train")
    x = torch.from_numpy(x_np.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(y_np)
    x_test_np, y_test_np = fmnist.load("test")
    x_test = torch.from_numpy(x_test_np.reshape(-1, 1, 28, 28))
    y_test = torch.from_numpy(y_test_np)

    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(1600, 10),
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
    median = statistics.median(timed)
    print(
        f"peer=torch workload=cnn epoch_s_median={median:.3f} "
        f"epoch_s={','.join(f'{s:.3f}' for s in timed)} warmup_epoch_s={seconds[0]:.3f} "
        f"gflops={TRAIN_FLOP_PER_SAMPLE * x.shape[0] / median / 1e9:.1f} "
        f"final_loss={loss:.4f} test_accuracy={test_accuracy(model, x_test, y_test):.4f} "
        f"peak_rss_mb={peak_rss_mb():.0f} torch={torch.__version__} threads=2"
    )


if __name__ == "__main__":
    main()
