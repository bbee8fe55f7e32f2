# Tunewatch daemon image (what helm/tunewatch runs as ghcr.io/tunewatch/tunewatch:<appVersion>).
#
#   docker build -t ghcr.io/tunewatch/tunewatch:0.1.0 .
#
# CPU-only torch (pinned), the project without the demo extra (the chart puts the daemon in front
# of your model server), and the static embeddings distilled at build time into a read-only
# directory, so a pod never spends its first minute distilling them. Runs as UID/GID 10001 with a
# read-only root filesystem (the chart mounts /tmp, /var/cache/tunewatch and /var/lib/tunewatch).
# Not built in this repository's CI: the CI machines have no container engine.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN python -m venv /opt/tunewatch/venv
ENV PATH=/opt/tunewatch/venv/bin:$PATH
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY detectors ./detectors
RUN pip install . \
 && python -c "from pathlib import Path; from detectors.embeddings import build_static_model; \
build_static_model(Path('/opt/tunewatch/cache/tunewatch/static-minilm'))" \
 && tunewatch config check /dev/null

FROM python:3.11-slim-bookworm
COPY --from=build /opt/tunewatch /opt/tunewatch
RUN groupadd --system --gid 10001 tunewatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --shell /usr/sbin/nologin tunewatch \
 && mkdir -p /var/lib/tunewatch /var/cache/tunewatch \
 && chown 10001:10001 /var/lib/tunewatch /var/cache/tunewatch
# XDG_CACHE_HOME: where the daemon finds the static embeddings baked above (read-only is fine).
# No TUNEWATCH_* defaults here: env wins over the config file, and the chart's config must rule.
ENV PATH=/opt/tunewatch/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    XDG_CACHE_HOME=/opt/tunewatch/cache
USER 10001:10001
WORKDIR /var/lib/tunewatch
EXPOSE 8080 9464
ENTRYPOINT ["tunewatch"]
# e.g. docker run -p 8080:8080 -p 9464:9464 IMAGE serve --upstream http://model:8000 \
#        --listen 0.0.0.0:8080 --admin-listen 0.0.0.0:9464
CMD ["--help"]
