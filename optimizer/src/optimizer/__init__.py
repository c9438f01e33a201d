"""OptiLLM's reasoning techniques behind an OpenAI-compatible API (see app.py)."""
