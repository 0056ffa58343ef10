"""The estimators behind every number in the book, each validated on cases with known answers
(see ``tests/test_analysis_*.py`` and the appendix ``book/appendix_estimators``).

* :mod:`~badgerlib.analysis.dynamics` - plateaus of a loss curve, Hurst and Lyapunov
  exponents (nolds, deterministic fits), surrogate tests, reference series, and curve tools
  (smoothing, transition windows, escape iterations, statistics per segment).
* :mod:`~badgerlib.analysis.info` - entropy, mutual information, total correlation, binding
  information, O- and S-information in nats (Gaussian copula, KSG, binned).
* :mod:`~badgerlib.analysis.spectral` - per-frequency convergence of a guess (F-principle),
  read off a run's snapshots over training or over the inner loop.
* :mod:`~badgerlib.analysis.components` - how the parts of a vector target are learned: when
  each dimension is solved, how many at once, which directions a guess has learned.
* :mod:`~badgerlib.analysis.stats` - rank correlations with permutation nulls, pooled over
  runs, and Kendall's W.
* :mod:`~badgerlib.analysis.interference` - gradient cosines between loss components and the
  two-component ray-interference toy.

Importing this package does not import torch (only :func:`gradient_cosines` and
:func:`flat_gradients` do, when called) nor nolds (imported by the exponents when called),
and nothing here imports the training code.

Example
-------
>>> from badgerlib import analysis
>>> sorted(analysis.info.METHODS)
['binned', 'gaussian', 'ksg']
"""
from . import components, dynamics, info, interference, spectral, stats
from .dynamics import (
    Plateau, SurrogateResult, converged_steps, damped_oscillation, escape_iteration, find_plateaus, first_below,
    fractional_gaussian_noise, henon_map, hurst_exponent, logistic_map, lyapunov_exponent, make_surrogates,
    segment_statistic, smooth, smooth_curve, step_curve, surrogate_test, transition_windows,
)
from .info import (
    DegenerateDataWarning, InfoSummary, binding_information, dual_total_correlation, entropy,
    gaussian_closed_form, gaussian_estimate_sd, information_summary, mutual_information, o_information,
    pairwise_mutual_information, random_covariance, s_information, total_correlation,
)
from .interference import (
    RayResult, conflict_fraction, cosine_matrix, flat_gradients, gradient_cosines, ray_flow,
    ray_interference, start_grid,
)
from .spectral import active_frequencies, frequency_convergence, sine_sum_target

__all__ = [
    "components", "dynamics", "info", "interference", "spectral", "stats",
    "Plateau", "SurrogateResult", "converged_steps", "damped_oscillation", "escape_iteration", "find_plateaus",
    "first_below", "fractional_gaussian_noise", "henon_map", "hurst_exponent", "logistic_map",
    "lyapunov_exponent", "make_surrogates", "segment_statistic", "smooth", "smooth_curve", "step_curve",
    "surrogate_test", "transition_windows",
    "DegenerateDataWarning", "InfoSummary", "binding_information", "dual_total_correlation",
    "entropy", "gaussian_closed_form", "gaussian_estimate_sd", "information_summary", "mutual_information",
    "o_information", "pairwise_mutual_information", "random_covariance", "s_information",
    "total_correlation",
    "RayResult", "conflict_fraction", "cosine_matrix", "flat_gradients", "gradient_cosines",
    "ray_flow", "ray_interference", "start_grid",
    "active_frequencies", "frequency_convergence", "sine_sum_target",
]
