"""Shared test settings.

The unit tests train many tiny models; one torch thread each is faster for them than two
threads fighting over small matrices (and leaves the other core to the rest of the machine).
"""
import torch

torch.set_num_threads(1)


def pytest_configure(config):
    """One token per test session, set before xdist starts its workers so that they inherit it:
    the book build test tells this session's executed chapters from a previous session's."""
    import os
    import uuid

    if not hasattr(config, "workerinput"):
        os.environ["BADGER_TEST_SESSION"] = uuid.uuid4().hex
