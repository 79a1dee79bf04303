"""Time single-sample prediction latency of the Fashion-MNIST MLP in PyTorch (CPU, 2 threads).

The MLP of mlp_torch.py plus a final Softmax (to return probabilities like the
keras model), with its initial (untrained) weights, predicts the first test
image, shape (1, 784), in eval mode under torch.no_grad(). 20 unmeasured calls
run first, then the median of 1000 timed calls is printed.
"""

import resource
import statistics
import time

import torch
from torch import nn

import fmnist

WARMUP_CALLS = 20
TIMED_CALLS = 1000


def main():
    torch.set_num_threads(2)
    torch.set_num_interop_threads(2)

    x_test, _ = fmnist.load("test")
    x = torch.from_numpy(x_test[:1])
    model = nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
        nn.Softmax(dim=1),
    )
    model.eval()

    seconds = []
    with torch.no_grad():
        for _ in range(WARMUP_CALLS):
            model(x)
        for _ in range(TIMED_CALLS):
            start = time.perf_counter()
            model(x)
            seconds.append(time.perf_counter() - start)

    print(
        f"peer=torch workload=latency method=forward_no_grad median_ms={statistics.median(seconds) * 1e3:.3f} "
        f"calls={TIMED_CALLS} peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} "
        f"torch={torch.__version__} threads=2"
    )


if __name__ == "__main__":
    main()
