"""badgerlib: Micro-Badger on the guessing game, training with a run store, and the analysis
tools behind the badger-book.

Example
-------
>>> import badgerlib
>>> cfg = badgerlib.RunConfig(task=badgerlib.GuessingGame(n=3), iterations=10)
>>> cfg.model.experts
8
"""
from badgerlib.baselines import LSTMMetaLearner, LSTMMetaLearnerConfig, SupervisedLSTM, SupervisedLSTMConfig
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.model import MicroBadger, Rollout
from badgerlib.run import Run, load_run
from badgerlib.tasks import GuessingGame, SineSumGame
from badgerlib.train import train
from badgerlib import remedies  # noqa: F401  (registers the remedies' optimisers and gradient transforms)
from badgerlib import learned_loss  # noqa: F401  (registers the "ml3" gradient transform and its config kind)

__all__ = [
    "LSTMMetaLearner", "LSTMMetaLearnerConfig", "SupervisedLSTM", "SupervisedLSTMConfig",
    "GuessingGame", "MicroBadger", "SineSumGame", "MicroBadgerConfig", "Rollout", "Run", "RunConfig", "load_run", "train"]
__version__ = "0.1.0"
