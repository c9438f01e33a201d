"""The HTTP surface: OpenAI's and Anthropic's client APIs, health, metrics, usage, and the
admin API (`admin/`). Thin: each route reads the request and hands it to the pipeline or
the store. This file imports nothing."""
