"""The byok producer client: publish prompts, get typed answers back, seal request keys.

from byok_client import ByokClient

async with ByokClient(kafka="127.0.0.1:9092", tenant_id="acme", user_id="u_42") as client:
    response = await client.complete("claude-sonnet-4-5", "Say hello")
"""

from .client import ByokClient, ResponseStream
from .config import KafkaConfig
from .errors import ByokError, RequestFailed, ResponseTimeout, SealingKeyUnavailable
from .sealing import PublicSealingKey, fetch_sealing_key
from .sync import ByokClientSync

__all__ = [
    "ByokClient",
    "ByokClientSync",
    "ByokError",
    "KafkaConfig",
    "PublicSealingKey",
    "RequestFailed",
    "ResponseStream",
    "ResponseTimeout",
    "SealingKeyUnavailable",
    "fetch_sealing_key",
]
