"""The LLM gateway on Kubernetes, as a Pulumi program; `program.py` composes it."""
