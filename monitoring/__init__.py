"""Stoker's monitoring: Grafana dashboards generated from Python and Prometheus rules with their tests."""
