"""Dashboards and alert rules, checked with promtool and against a real Prometheus."""
