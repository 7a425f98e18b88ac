# The worker, the API and the migration job (see docker-compose.yml); the command picks which.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app mappa

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

COPY . .
RUN pip install --no-deps --force-reinstall . && mkdir -p /app/data && chown mappa /app/data

USER mappa
EXPOSE 8000 9464 9465
CMD ["python", "-m", "worker.main"]
