"""The benchmark: our gateway against stock LiteLLM proxy and the simulator itself."""
