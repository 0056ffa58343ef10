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


#: Seconds each chapter's notebook took in the suite (fresh-clone make test of 2026-12-07, two
#: workers): only the order of the suite reads them (:func:`pytest_collection_modifyitems`).
NOTEBOOK_SECONDS = {"07_topology": 366, "09_remedies": 337, "02_plateaus": 310, "04_f_principle": 309,
                    "08_landscape": 297, "03_ray_interference": 288, "05_mutual_information": 266,
                    "06_binding_information": 185, "01_micro_badger": 46, "appendix_estimators": 32}


def _order_key(item) -> tuple:
    """Chapters longest first (a chapter that reads another's runs counted with it and kept
    right after it, its SHARES_RUNS_WITH), then the unit tests and doctests as collected, the
    book build last."""
    name = getattr(item, "originalname", item.name)
    if name == "test_notebook_runs_and_checks_its_finding":
        stem, shares = item.callspec.id, item.module.SHARES_RUNS_WITH
        lead = shares.get(stem, stem)
        group = [lead] + [s for s, partner in shares.items() if partner == lead]
        return (0, -sum(NOTEBOOK_SECONDS.get(s, 0) for s in group), stem != lead, stem)
    if name == "test_book_builds_from_the_executed_notebooks":
        return (2, 0)
    return (1, 0)


def pytest_collection_modifyitems(config, items):
    """The suite's two workers finish together when the long chapters start first, the unit
    tests fill in around the last of them, and the book build (which waits for every chapter)
    comes last: collected in file order, the longest chapter started late and the book build
    sat waiting on one worker while the other finished it (about 100 s of the suite's 24 min
    idle; in this order the suite took 21 min 40 s, from 23 min 46 s). Every worker sorts the
    same way (a stable sort), as pytest-xdist requires."""
    items.sort(key=_order_key)
