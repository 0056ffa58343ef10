"""Milliseconds per training update of one seed: the same model with a Python loop over
experts (naive), vectorised and run op by op (``engine="eager"``), and vectorised under
``torch.compile`` (``engine="compiled"``), with the share of the machine's float32 matmul peak
measured in the same run.

The loop version shares the weights and is batched over tasks, as a first implementation would
be; only the experts are looped. Run: ``python -m benchmarks.bench_model``.
"""
from __future__ import annotations

import time

import torch

from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig, RunConfig
from badgerlib.config import OPTIMIZERS
from badgerlib.train import resume, update

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


def matmul_peak(size: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of one float32 ``size x size`` matmul on this machine's threads (median): the
    ceiling the model's own matmuls are compared with."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * size ** 3 / sorted(times)[repeats // 2] / 1e9


def training_state(E, H, N, S, B, engine="eager", naive=False):
    """A fresh training state of the config (E, H, N, S, B); ``naive`` swaps in the
    loop-over-experts model with the same weights."""
    cfg = RunConfig(task=GuessingGame(n=N), model=MicroBadgerConfig(experts=E, hidden=H), inner_steps=S,
                    batch=B, iterations=10_000, snapshot_count=0, engine=engine)
    state = resume(cfg, None)
    if naive:
        slow = LoopOverExperts(cfg.model, dims=N, seed=cfg.seed)
        slow.load_state_dict(state.model.state_dict())
        state.model, state.optimizer = slow, OPTIMIZERS[cfg.optimizer](slow.parameters(), cfg)
    return state


def time_iteration(state, repeats=30, warmup=5) -> float:
    """Median seconds of one training update (sample, rollout, backward, clip, Adam):
    :func:`badgerlib.train.update` itself."""
    for _ in range(warmup):
        update(state)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        update(state)
        times.append(time.perf_counter() - t)
    return sorted(times)[repeats // 2]


def main() -> list[dict]:
    rows = []
    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, median of 30 training updates "
          f"(badgerlib.train.update: sample, rollout, backward, clip, Adam); measured float32 matmul peak "
          f"{peak:.0f} GFLOP/s (1024 x 1024)\n")
    print("| config (E/H/N/S/B) | path | ms per iteration | vs naive loop | GFLOP/s | share of matmul peak |")
    print("|---|---|---|---|---|---|")
    for E, H, N, S, B in CONFIGS:
        flops = matmul_flops(E, H, N, S, B)
        naive = None
        for path in ("naive loop", "eager", "compiled"):
            state = training_state(E, H, N, S, B, engine="compiled" if path == "compiled" else "eager",
                                   naive=path == "naive loop")
            t0 = time.perf_counter()
            update(state)                      # the compiled path compiles here (or loads its cache)
            first = time.perf_counter() - t0
            sec = time_iteration(state)
            naive = sec if naive is None else naive
            rows.append(dict(config=f"E{E}/H{H}/N{N}/S{S}/B{B}", path=path, ms=1e3 * sec, speedup=naive / sec,
                             gflops=flops / sec / 1e9, peak_share=flops / sec / 1e9 / peak, first_call_s=first))
            r = rows[-1]
            note = f" (first call {first:.0f} s: compile or cache)" if path == "compiled" else ""
            print(f"| {r['config']} | {path}{note} | {r['ms']:.1f} | {r['speedup']:.1f}x | {r['gflops']:.0f} | "
                  f"{100 * r['peak_share']:.0f} % |", flush=True)
    return rows


if __name__ == "__main__":
    main()
