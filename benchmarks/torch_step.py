"""A plain PyTorch float64 twin of one Algorithm 1 step, timed for ``bench_train.py --torch PYTHON``.

Not part of advcert and not one of its dependencies: run it with a Python that has torch
(for example a separate venv: ``python -m venv /work/venv-torch && /work/venv-torch/bin/pip
install torch numpy``). It does the work of the fused step the way plain PyTorch would: the
same n, m, d, the same network scales and the same ``steps``-step attack on the caps of X
(autograd for ∇_x |f - y|, the tangent step and the projection onto the cap around the data
point, batched over the points), one more evaluation at the attacked points, then the
update W - η ∇_W L by autograd. Its flop count is bench_train's (4 s + 6) n m d. It is a
timing reference only: its step length is fixed, so its numbers are not advcert's.

    /work/venv-torch/bin/python benchmarks/torch_step.py [--n 100] [--m 16384] [--d 32] [--steps 10]
                                                          [--reps 7] [--threads 2]

Prints one line ``torch_step_ms MEDIAN MIN``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--m", type=int, default=2**14)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rho", type=float, default=0.05)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, m, d, s = args.n, args.m, args.d, args.steps
    dt = torch.float64
    gen = torch.Generator().manual_seed(20200214)
    r = math.sqrt(3) / 2
    head = torch.randn(n, d - 1, generator=gen, dtype=dt)
    X = torch.cat([head / head.norm(dim=1, keepdim=True) * r, torch.full((n, 1), 0.5, dtype=dt)], 1)
    y = torch.round((torch.rand(n, generator=gen, dtype=dt) * 2 - 1) * 1024) / 1024
    a = (torch.randint(0, 2, (m,), generator=gen) * 2 - 1).to(dt) * m ** (-1 / 3)
    W0 = torch.randn(m, d, generator=gen, dtype=dt) / math.sqrt(m)
    b = torch.randn(m, generator=gen, dtype=dt) / math.sqrt(m)
    W = W0 + torch.randn(m, d, generator=gen, dtype=dt) * 3 * m ** (-2 / 3) / math.sqrt(d)
    theta = 2 * math.asin(min(1.0, args.rho / (2 * r)))
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    eta_x, eta = args.rho / 4, 0.1 * m ** (-1 / 3)
    centre = X[:, :-1] / X[:, :-1].norm(dim=1, keepdim=True)
    half = torch.full((n, 1), 0.5, dtype=dt)

    def one_step():
        x = X.clone()
        for _ in range(s):
            x.requires_grad_(True)
            loss = (torch.relu(x @ W.T + b) @ a - y).abs().sum()
            (gx,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                h = x[:, :-1]
                t = gx[:, :-1] - (gx[:, :-1] * h).sum(1, keepdim=True) / (h * h).sum(1, keepdim=True) * h
                v = h + eta_x * t / t.norm(dim=1, keepdim=True).clamp_min(1e-300)
                v = v / v.norm(dim=1, keepdim=True)
                dots = (v * centre).sum(1, keepdim=True)
                w = v - dots * centre
                w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-300)
                v = torch.where(dots < cos_t, cos_t * centre + sin_t * w, v)
                x = torch.cat([v * r, half], 1)
        with torch.no_grad():
            torch.relu(x @ W.T + b) @ a  # the value at the attacked points, as the fused step has it
        Wp = W.clone().requires_grad_(True)
        L = (torch.relu(x @ Wp.T + b) @ a - y).abs().mean()
        (G,) = torch.autograd.grad(L, Wp)
        with torch.no_grad():
            Wn = W - eta * G
            return Wn, float((Wn - W0).norm(dim=1).max())

    one_step()
    ts = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        one_step()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    print(f"torch_step_ms {ts[len(ts) // 2] * 1e3:.3f} {ts[0] * 1e3:.3f}")


if __name__ == "__main__":
    main()
