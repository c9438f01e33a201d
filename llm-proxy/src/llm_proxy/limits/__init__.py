"""Rate limits and budgets: counters in Redis (atomic Lua) or in process, reserve then settle.

The stages that use them are `pipeline/limits.py` and `pipeline/budget.py`. Nothing here
imports the pipeline, so the request context can hold a `Reservation` without a cycle.
"""
