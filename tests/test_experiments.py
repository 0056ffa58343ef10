"""The shared experiment configs (both chapters must build identical ones, so that they hit
the same stored runs) and the run-level helpers: per-dimension losses that add up to the
objective, gradient interference at snapshots, the common-metric snapshot error."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, LSTMMetaLearnerConfig, train
from badgerlib.config import FEATURES
from badgerlib import experiments as ex
from badgerlib.analysis.interference import flat_gradients
from badgerlib.store import config_hash
from badgerlib.train import build_model, probe_batch


def test_configs_depend_only_on_n_seed_and_mode():
    a = ex.plateau_configs([2, 3, 4, 6], seeds=5)
    b = ex.plateau_configs([6], seeds=3)          # what the ray-interference chapter asks for
    assert [config_hash(c) for c in b] == [config_hash(c) for c in a[-5:-2]]
    assert ex.micro_badger(3, 0, quick=True) != ex.micro_badger(3, 0, quick=False)
    assert {c.task.n for c in a} == {2, 3, 4, 6} and len(set(map(config_hash, a))) == 20


def test_quick_and_full_scales():
    q = ex.micro_badger(6)
    assert (q.model.experts, q.model.hidden, q.inner_steps, q.iterations, q.lr) == (8, 32, 10, 3000, 3e-3)
    assert q.snapshots == 31 and q.model.features == FEATURES
    f = ex.micro_badger(20, quick=False)
    assert (f.model.experts, f.model.hidden, f.inner_steps, f.lr) == (16, 64, 24, 1e-3)
    assert ex.micro_badger(5).iterations == 2500         # not listed: per_n * N
    with pytest.raises(ValueError, match="quick = 'yes'"):
        ex.micro_badger(3, quick="yes")
    with pytest.raises(ValueError, match="n = 0"):
        ex.micro_badger(0)


def test_feature_sets_share_the_standard_run_and_the_rest_last_the_horizon():
    cfgs = ex.feature_configs(3)
    assert cfgs["error + log + change"] == [ex.micro_badger(3, s) for s in range(3)]
    for name in ("error", "error + log", "error + change"):
        assert all(c.iterations == ex.QUICK.feature_horizon and c.model.features == ex.FEATURE_SETS[name]
                   and c.snapshots == 2 for c in cfgs[name])
    assert ex.micro_badger(3).iterations >= ex.QUICK.feature_horizon
    with pytest.raises(ValueError, match="feature set = 'pitch'"):
        ex.feature_configs(2, sets=["pitch"])


def test_lstm_metric_configs():
    cfgs = ex.lstm_metric_configs(2)
    assert [c.task for c in cfgs["l1"]] == [GuessingGame(n=3, metric="l1")] * 2
    assert all(isinstance(c.model, LSTMMetaLearnerConfig) for c in cfgs["mse"])
    assert [c.seed for c in cfgs["mse"]] == [0, 1]


@pytest.mark.parametrize("loss_on", ["all", "last"])
def test_dimension_losses_add_up_to_the_objective_and_its_gradient(loss_on):
    cfg = ex.micro_badger(3).replace(probe_batch=16, loss_on=loss_on)
    model = build_model(cfg)
    targets, h = probe_batch(model, cfg)
    losses = ex.dimension_losses(model, cfg.task, targets, h, cfg.inner_steps, loss_on)
    fb = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h).feedback[:, 1:]
    objective = fb.mean() if loss_on == "all" else fb[:, -1].mean()
    assert torch.isclose(sum(losses), objective, rtol=1e-5)
    params = list(model.parameters())
    g = flat_gradients(losses, params)
    assert np.allclose(g.sum(axis=0), flat_gradients([objective], params)[0], atol=1e-6)


def test_snapshot_interference_and_error_on_a_tiny_run(tmp_path):
    cfg = ex.micro_badger(3, iterations=6).replace(batch=4, probe_batch=8, snapshots=3)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    res = ex.snapshot_interference(run)
    assert res["iterations"].tolist() == [0, 3, 6]
    c = res["cosines"]
    assert np.allclose(c, np.transpose(c, (0, 2, 1))) and np.allclose(np.diagonal(c, axis1=1, axis2=2), 1)
    # cancellation from its definition, on the last snapshot, computed independently
    model = run.model_at(2)
    targets, h = probe_batch(model, cfg)
    g = flat_gradients(ex.dimension_losses(model, cfg.task, targets, h, cfg.inner_steps), list(model.parameters()))
    assert res["cancellation"][2] == pytest.approx((g.sum(0) @ g.sum(0)) / (g * g).sum(), rel=1e-6)
    assert res["grad_norm"][2] == pytest.approx(np.linalg.norm(g.sum(0)), rel=1e-6)
    iu = np.triu_indices(3, 1)
    assert res["conflict"][2] == pytest.approx(np.mean(c[2][iu] < 0))
    # the squared-error metric of the snapshot guesses is the recorded feedback of the last step
    its, err = ex.snapshot_error(run, "mse")
    assert np.allclose(err, run.snapshots["feedback"][:, :, -1].mean(axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match="metric='l2'"):
        ex.snapshot_error(run, "l2")


def test_estimate_seconds():
    cfgs = [ex.micro_badger(2), ex.micro_badger(6)]
    assert ex.estimate_seconds(cfgs, lambda c: 100.0 if c.task.n == 2 else 50.0, workers=2) == pytest.approx(33.0)
    with pytest.raises(ValueError, match="workers=0"):
        ex.estimate_seconds(cfgs, 1.0, workers=0)
    with pytest.raises(ValueError, match="must be a number > 0"):
        ex.estimate_seconds(cfgs, 0.0)


def _fake(n, spec, seed=0, **cfg):
    from types import SimpleNamespace

    from badgerlib.analysis.phases import synthetic_history
    return SimpleNamespace(config=ex.micro_badger(n, seed, **cfg), history=synthetic_history(spec, n=n, seed=seed))


def test_tables_on_histories_with_known_plateaus():
    runs = [_fake(3, [("zeros", 400), (1, 400), (2, 400), (3, 400)], seed=s) for s in range(2)]
    runs.append(_fake(2, [("zeros", 400), ("same", 400), (2, 400)], seed=0))
    rt = ex.run_table(runs)
    assert rt.plateaus.tolist() == [4, 4, 3]
    assert rt.converged.all() and (rt.first_phase == "zeros").all()
    assert rt.solved_steps.tolist()[:2] == [[1, 1, 1], [1, 1, 1]]
    assert rt.same_number.iloc[2] == pytest.approx(1 / 3, abs=0.05) and rt.same_number.iloc[0] == 0
    assert np.all(np.abs(rt.escape - 400) < 30)
    pt = ex.plateau_table(runs)
    assert pt[pt.n == 3].unsolved.tolist() == [3, 2, 1, 0] * 2
    assert pt.final.sum() == 3 and (pt.hurst.dropna().between(0.3, 0.7)).all()
    tt = ex.transition_table(runs)
    assert len(tt) == 3 + 3 + 2 and (tt.end - tt.start + 1 >= 100).all()
    st = ex.solve_table(runs[:1])
    assert st.order.tolist() == [1.0, 2.0, 3.0] and np.all(np.abs(st.solved_at - [440, 840, 1240]) < 40)


def test_final_plateau_lyapunov_needs_a_long_final_plateau():
    assert ex.final_plateau_lyapunov(_fake(2, [("zeros", 500), (2, 100)]), n_surrogates=5) is None
    plateau, res = ex.final_plateau_lyapunov(_fake(2, [("zeros", 300), (2, 600)]), n_surrogates=5)
    assert plateau.end == 899 and len(res.surrogates) == 5


def test_snapshot_directions_on_a_tiny_run_and_speeds(tmp_path):
    cfg = ex.micro_badger(2, iterations=4).replace(batch=4, probe_batch=16, snapshots=3)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    d = ex.snapshot_directions(run)
    assert d["eigenvalues"].shape == (3, 2) and np.all(np.diff(d["eigenvalues"], axis=1) <= 0)
    assert np.allclose(d["remaining"], 2 * run.snapshots["feedback"][:, :, -1].mean(axis=1))
    assert len(ex.direction_table([run])) == 3
    speeds = ex.measure_speeds([cfg, cfg.replace(seed=3), ex.micro_badger(3).replace(batch=4)], iterations=2)
    assert len(speeds) == 3 and speeds[cfg] == speeds[cfg.replace(seed=3)] > 0
