"""The LSTM baselines and the sine-sum task train through the same `train`."""
import numpy as np
import pytest
import torch

from badgerlib import (GuessingGame, LSTMMetaLearnerConfig, RunConfig, SineSumGame, SupervisedLSTMConfig,
                       train)
from badgerlib.baselines import quantise


def test_supervised_lstm_fits_a_fixed_sine_sum(tmp_path):
    cfg = RunConfig(task=SineSumGame(m=21, frequencies=(1, 2, 3), phase=0.5), model=SupervisedLSTMConfig(hidden=32),
                    inner_steps=1, iterations=600, batch=1, lr=1e-2, snapshot_count=4, probe_batch=1)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert run.history["loss"][:5].mean() > 0.5
    assert run.history["loss"][-20:].mean() < 0.01
    # every snapshot sees the same fixed target
    assert np.allclose(run.snapshots["targets"][0], cfg.task.sample_targets(1, torch.Generator())[0].numpy(), atol=1e-6)


def test_supervised_lstm_refuses_several_inner_steps(tmp_path):
    cfg = RunConfig(task=SineSumGame(m=9, frequencies=(1,), phase=0.0), model=SupervisedLSTMConfig(hidden=4),
                    inner_steps=3, iterations=1, batch=1, snapshot_count=0)
    with pytest.raises(ValueError, match="inner_steps = 3: must be 1"):
        train(cfg, runs_dir=tmp_path, progress=False)


@pytest.mark.parametrize("metric", ["mse", "l1"])
def test_lstm_meta_learner_learns_an_easy_game(tmp_path, metric):
    cfg = RunConfig(task=GuessingGame(n=2, metric=metric), model=LSTMMetaLearnerConfig(hidden=32), inner_steps=6,
                    iterations=800, batch=32, lr=3e-3, snapshot_count=2)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert run.history["last_error"][:20].mean() > 0.8
    assert run.history["last_error"][-50:].mean() < 0.2
    assert run.snapshots["hidden"].shape[3] == 1  # one "expert"


def test_quantised_meta_learner_sees_only_bins_and_still_learns(tmp_path):
    cfg = RunConfig(task=GuessingGame(n=1), model=LSTMMetaLearnerConfig(hidden=32, quantise_bins=12),
                    inner_steps=10, iterations=1500, batch=32, lr=1e-2, snapshot_count=0)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert run.history["last_error"][-200:].mean() < 0.85


def test_quantise_bins_are_one_hot_and_monotone():
    f = torch.logspace(-5, 1, 200)
    q = quantise(f, 12)
    assert torch.all(q.sum(dim=-1) == 1)
    idx = q.argmax(dim=-1)
    assert torch.all(idx[1:] >= idx[:-1]) and idx[0] == 0 and idx[-1] == 11


def test_sine_sum_single_frequency_has_one_dft_bin():
    game = SineSumGame(m=41, frequencies=(3,))
    y = game.sample_targets(5, torch.Generator().manual_seed(0), torch.float64).numpy()
    spectrum = np.abs(np.fft.rfft(y, axis=-1))
    assert np.all(spectrum[:, 3] > 20)  # M/2 = 20.5 for a unit sinusoid
    others = np.delete(spectrum, 3, axis=-1)
    assert np.all(others < 1e-9)


def test_sine_sum_phase_is_random_unless_fixed():
    gen = torch.Generator().manual_seed(1)
    y = SineSumGame(m=11).sample_targets(3, gen)
    assert not torch.allclose(y[0], y[1])
    fixed = SineSumGame(m=11, phase=1.0).sample_targets(3, gen)
    assert torch.allclose(fixed[0], fixed[2])
    assert SineSumGame(m=41, metric="l1").zeros_level > 0
