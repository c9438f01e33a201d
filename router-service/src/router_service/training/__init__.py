"""Offline training of our router on stored benchmark outcomes (needs ../shared/data/routing)."""
