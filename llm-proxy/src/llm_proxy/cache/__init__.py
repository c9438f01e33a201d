"""The response cache: exact and semantic, in process or shared through Redis."""

from llm_proxy.cache.response_cache import CacheRequest, Found, ResponseCache

__all__ = ["CacheRequest", "Found", "ResponseCache"]
