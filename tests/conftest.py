"""Shared test settings.

The unit tests train many tiny models; one torch thread each is faster for them than two
threads fighting over small matrices (and leaves the other core to the rest of the machine).
"""
import torch

torch.set_num_threads(1)
