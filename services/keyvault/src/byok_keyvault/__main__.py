"""`python -m byok_keyvault`: serve; `python -m byok_keyvault rotate-sealing-key`: rotate the sealing key."""

from __future__ import annotations

import asyncio
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "rotate-sealing-key":
        from byok_core.sealing_keys import SealingKeyStore
        from byok_core.vault import VaultClient

        from .config import load_settings

        sealing = SealingKeyStore(VaultClient(load_settings().vault))
        public = asyncio.run(sealing.rotate())
        print(public.kid)
        return 0
    if argv:
        print("usage: python -m byok_keyvault [rotate-sealing-key]", file=sys.stderr)
        return 2
    from .main import run

    run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
