from llm_proxy.config.loader import ConfigError, load_config, parse_config
from llm_proxy.config.models import GatewayConfig

__all__ = ["ConfigError", "GatewayConfig", "load_config", "parse_config"]
