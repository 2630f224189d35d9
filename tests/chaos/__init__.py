"""The bounded chaos suite: real Redis, API and worker processes, real signals, every outcome measured.

``python -m tests.chaos`` (``make chaos``) runs the full scenarios and prints one table;
``test_reduced.py`` runs each scenario small, in ``make test``.
"""
