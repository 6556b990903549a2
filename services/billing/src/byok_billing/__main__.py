"""python -m byok_billing: run the billing consumer (same as `byok-billing run`)."""

from .main import run

run()
