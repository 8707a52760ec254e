"""auto_LiRPA's side of benchmarks/bench_peers.py: l2-ball bounds of a two-layer ReLU net (Theorem 5.3's
sup over B_2(x_i, rho), the ball that contains the cap), run by the peer's OWN interpreter.

    <lirpa-venv>/bin/python lirpa_bounds.py PROBLEM.npz OUT.json

PROBLEM.npz holds a (m,), W (m, d), b (m,), X (N, d), rho (scalar). Writes, for 'CROWN' and
'CROWN-Optimized' (alpha-CROWN), the lower and upper bounds of f_W over each ball and the
seconds per point (best of ``repeat``), plus the peer's versions. Never imported by advcert.
"""

import json
import sys
import time

import numpy as np
import torch
import auto_LiRPA
from auto_LiRPA import BoundedModule, BoundedTensor
from auto_LiRPA.perturbations import PerturbationLpNorm


def main(src, dst, repeat=7):
    p = np.load(src)
    a, W, b, X, rho = p["a"], p["W"], p["b"], p["X"], float(p["rho"])
    m, d = W.shape
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    net = torch.nn.Sequential(torch.nn.Linear(d, m), torch.nn.ReLU(), torch.nn.Linear(m, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(W))
        net[0].bias.copy_(torch.from_numpy(b))
        net[2].weight.copy_(torch.from_numpy(a[None, :]))
    xt = torch.from_numpy(X)
    out = {"versions": {"auto_LiRPA": auto_LiRPA.__version__, "torch": torch.__version__,
                        "python": sys.version.split()[0]}}
    for method in ("CROWN", "CROWN-Optimized"):
        best, lb, ub = float("inf"), None, None
        for _ in range(repeat):
            # auto_LiRPA 0.3's sparse alpha fails on some two-layer shapes (a shape mismatch in
            # reconstruct_full_alpha): dense alpha throughout
            model = BoundedModule(net, torch.zeros(1, d), device="cpu", verbose=False,
                                  bound_opts={"sparse_intermediate_bounds": False, "sparse_features_alpha": False,
                                              "sparse_spec_alpha": False})
            if method == "CROWN-Optimized":
                model.set_bound_opts({"optimize_bound_args": {"iteration": 20, "lr_alpha": 0.1}})
            x = BoundedTensor(xt, PerturbationLpNorm(norm=2, eps=rho))
            t = time.perf_counter()
            lo, hi = model.compute_bounds(x=(x,), method=method)
            best = min(best, time.perf_counter() - t)
            lb, ub = lo[:, 0].detach().numpy().tolist(), hi[:, 0].detach().numpy().tolist()
        out[method] = {"lower": lb, "upper": ub, "seconds_per_point": best / X.shape[0]}
    with open(dst, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
