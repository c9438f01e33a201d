"""Scoring routers by replaying stored outcomes, with the RouteLLM paper's metrics."""
