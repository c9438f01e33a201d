"""Reaching the providers: deployments, the balancer's strategies, health and circuits,
the dispatcher (retries, fallbacks) and the transports (the fast path, LiteLLM).
This file imports nothing."""
