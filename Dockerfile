# syntax=docker/dockerfile:1
# The DEZO adapter image; the ONCOR emulator is the same image with `emulator --host 0.0.0.0`.
#   docker build -t dezo-adapter .
#   docker run --env-file dezo.env dezo-adapter              # the adapter (CMD run)
#   docker run -p 8080:8080 dezo-adapter emulator --host 0.0.0.0

# Both stages on the same base: the venv's interpreter links to /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# The wheel first, from the package alone: editing tests or docs does not rebuild it.
# (Every dependency ships binary wheels for CPython 3.11; should one ever need compiling, add
# build-essential here, never in the final stage.)
COPY pyproject.toml README.md ./
COPY adapter ./adapter
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install /wheels/*.whl \
 && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="dezo-adapter" \
      org.opencontainers.image.description="ONCOR DEZO orders <-> RabbitMQ adapter, and its ONCOR emulator"
# uid 10001: outside the range of system and first human users; the Helm chart runs as it.
RUN groupadd --system --gid 10001 dezo \
 && useradd --system --uid 10001 --gid dezo --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin dezo
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Runs with a read-only root filesystem: only /tmp (an emptyDir / tmpfs) is written to.
WORKDIR /tmp
USER 10001:10001
# 9100: /metrics, /healthz, /readyz (DEZO_HTTP_PORT). 8080: the emulator.
EXPOSE 9100 8080
# No curl in slim images: Python's urllib asks /healthz (alive: the adapter's loops turn).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('DEZO_HTTP_PORT', '9100') + '/healthz', timeout=4)"]
ENTRYPOINT ["dezo-adapter"]
CMD ["run"]
