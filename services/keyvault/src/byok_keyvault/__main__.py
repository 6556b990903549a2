"""`python -m byok_keyvault`: serve; `python -m byok_keyvault rotate-sealing-key`: rotate the sealing key."""

from __future__ import annotations

import asyncio
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "rotate-sealing-key":
        from byok_core.sealing_keys import SealingKeyStore
        from byok_core.vault import VaultClient

        from .config import load_settings

        async def rotate() -> str:
            async with VaultClient(load_settings().vault) as vault:
                return (await SealingKeyStore(vault).rotate()).kid

        print(asyncio.run(rotate()))
        return 0
    if argv:
        print("usage: python -m byok_keyvault [rotate-sealing-key]", file=sys.stderr)
        return 2
    from .main import run

    run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
