"""Milliseconds per outer iteration (forward, backward, Adam step) of the vectorised
Micro-Badger against the same model run with a Python loop over experts.

The loop version shares the weights and is batched over tasks, as a first implementation would
be; only the experts are looped. Run: ``python -m benchmarks.bench_model``.
"""
from __future__ import annotations

import time

import torch

from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig

CONFIGS = [  # (experts, hidden, N, inner steps, batch)
    (8, 32, 3, 10, 32),
    (16, 64, 20, 20, 32),
]


def loop_over_experts_step(model: MicroBadger, h: torch.Tensor, task_input: torch.Tensor) -> torch.Tensor:
    """``MicroBadger.step`` with a Python loop over experts (batched over tasks only)."""
    E, H = model.config.experts, model.config.hidden
    A = model.adjacency
    messages = [h[:, j] @ model.w_msg.T + model.b_msg for j in range(E)]
    x_task = task_input @ model.w_task.T + model.b_in
    new = []
    for i in range(E):
        senders = [j for j in range(E) if A[i, j] > 0]
        received = sum(messages[j] for j in senders) / max(len(senders), 1) if senders else torch.zeros_like(messages[0])
        gx = received @ model.w_msg_in.T + x_task
        gh = h[:, i] @ model.w_hh.T + model.b_hh
        r = torch.sigmoid(gx[:, :H] + gh[:, :H])
        z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        v = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        new.append(z * h[:, i] + (1 - z) * v)
    return torch.stack(new, dim=1)


def loop_over_experts_readout(model: MicroBadger, h: torch.Tensor) -> torch.Tensor:
    return torch.stack([h[:, e] @ model.w_out.T + model.b_out for e in range(h.shape[1])], dim=1)


class LoopOverExperts(MicroBadger):
    """The same model, experts looped in Python."""

    def step(self, h, task_input):
        return loop_over_experts_step(self, h, task_input)

    def readout(self, h):
        return loop_over_experts_readout(self, h)


def matmul_flops(E, H, N, S, B, M=8, F=3) -> float:
    """Multiply-adds of the matmuls of one iteration, times 2 for FLOPs, times 3 for forward +
    backward (the backward costs about two forwards)."""
    per_step = B * E * (3 * H * M + 3 * H * H + M * H + N * H) + B * (3 * H * (F + N)) + B * E * E * M
    return 2 * 3 * per_step * S


def time_iteration(model, task, S, B, repeats=30, warmup=5) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(warmup + repeats):
        t = time.perf_counter()
        targets = task.sample_targets(B, gen)
        loss = model.rollout(task, targets, S, gen).feedback[:, 1:].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]  # median


def main() -> list[dict]:
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, median of 30 iterations\n")
    print("| config (E/H/N/S/B) | loop over experts ms | vectorised ms | speed-up | vectorised GFLOP/s |")
    print("|---|---|---|---|---|")
    for E, H, N, S, B in CONFIGS:
        cfg = MicroBadgerConfig(experts=E, hidden=H)
        task = GuessingGame(n=N)
        torch.manual_seed(0)
        fast = MicroBadger(cfg, dims=N, seed=0)
        slow = LoopOverExperts(cfg, dims=N, seed=0)
        slow.load_state_dict(fast.state_dict())
        t_slow = time_iteration(slow, task, S, B)
        t_fast = time_iteration(fast, task, S, B)
        gflops = matmul_flops(E, H, N, S, B) / t_fast / 1e9
        rows.append(dict(config=f"E{E}/H{H}/N{N}/S{S}/B{B}", loop_ms=1e3 * t_slow, vec_ms=1e3 * t_fast,
                         speedup=t_slow / t_fast, gflops=gflops))
        r = rows[-1]
        print(f"| {r['config']} | {r['loop_ms']:.1f} | {r['vec_ms']:.1f} | {r['speedup']:.1f}x | {r['gflops']:.1f} |")
    return rows


if __name__ == "__main__":
    main()
