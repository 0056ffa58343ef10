"""Speed and scale measurements, printed as tables (``make bench``); never timed tests."""
