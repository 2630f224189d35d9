"""``stoker dev``: the local stack (Redis, the API, the chart's worker pools) and its KEDA-like autoscaler."""
