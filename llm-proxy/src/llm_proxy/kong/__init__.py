"""The Kong edge: virtual keys as Kong consumers, rendered into the declarative config and
pushed to Kong's Admin API (`llm-proxy kong render | sync`).

Kong holds the SHA-256 digest of each key, never the key: the edge's pre-function hashes
what the client presents before key-auth looks it up (see kong/README.md). Consumer and
credential ids are derived from the key table, so they survive every reload.
"""

from llm_proxy.kong.consumers import KongConsumer, consumer_id, credential_id

__all__ = ["KongConsumer", "consumer_id", "credential_id"]
