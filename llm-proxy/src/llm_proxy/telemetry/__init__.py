"""Traces, metrics and the request log: what operators see of every request and the fleet.

`Telemetry` (in `observer.py`) is the one object the pipeline talks to: `begin` a request,
time each `stage`, `finish` it. Tracing (`tracing.py`), Prometheus metrics (`metrics.py`)
and the JSON request log (`logging.py`) hang off it, each switched by the `observability`
section of gateway.yaml and the standard `OTEL_*` variables.
"""
