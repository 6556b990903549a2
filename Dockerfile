# One image for the three services; the command picks the service:
#   python -m byok_keyvault | python -m byok_inference | python -m byok_billing
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY infra/billing infra/billing
# Not editable: the services find nothing through the source tree (e.g. prices.toml comes from
# BYOK_BILLING_PRICE_OVERRIDES). /var/lib/byok is the services' state folder, a volume in compose,
# created here so that a new volume is owned by the service user.
RUN uv sync --frozen --no-dev --no-editable \
    && useradd --system --uid 10001 byok \
    && mkdir -p /var/lib/byok && chown byok /var/lib/byok
ENV BYOK_RUN_DIR=/var/lib/byok
ENV PATH="/app/.venv/bin:$PATH"
USER byok
CMD ["python", "-m", "byok_inference"]
