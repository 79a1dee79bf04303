"""Time PyTorch's counterparts of src/rust/engine/examples/conv_transpose_step.rs
(same shapes, NCHW, batch 64, 2 threads): the fastest of 10 forward and 10
backward passes of each layer, in milliseconds.

    /work/venv/bin/python bench/peers/conv_variants_torch.py
"""

import time, torch
torch.set_num_threads(2)
def bench(label, module, shape):
    x = torch.randn(*shape, requires_grad=True)
    fw, bw = float("inf"), float("inf")
    for _ in range(10):
        t = time.perf_counter(); y = module(x); fw = min(fw, time.perf_counter() - t)
        g = torch.randn_like(y)
        t = time.perf_counter(); y.backward(g); bw = min(bw, time.perf_counter() - t)
        x.grad = None; module.zero_grad()
    print(f"{label}: forward_ms={fw*1e3:.3f} backward_ms={bw*1e3:.3f}")
bench("ConvTranspose2d 64->32 3x3 s2 (14x14)", torch.nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), (64, 64, 14, 14))
bench("Conv2d 32->64 3x3 s2 (28x28)", torch.nn.Conv2d(32, 64, 3, stride=2, padding=1), (64, 32, 28, 28))
bench("depthwise Conv2d 32 groups 3x3 (28x28)", torch.nn.Conv2d(32, 32, 3, padding=1, groups=32), (64, 32, 28, 28))
bench("separable (depthwise + 1x1 to 64) (28x28)", torch.nn.Sequential(torch.nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), torch.nn.Conv2d(32, 64, 1)), (64, 32, 28, 28))
