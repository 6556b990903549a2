"""The producer side of byok: seal request-supplied keys, publish prompts, await their outcome."""

from .producer import PromptClient, fetch_sealing_key

__all__ = ["PromptClient", "fetch_sealing_key"]
