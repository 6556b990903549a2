"""Pure translation between the contract's Chat Completions shape and each provider's own API.

One module per provider (anthropic, openai_chat, gemini): request in, provider request out; provider
response or stream events in, contract result out. No I/O, no SDK clients.
"""
