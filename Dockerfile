# One image for carewatch server, edge, sim and mqtt-config; docker-compose.yml picks the command.
# Bookworm: its postgresql-client is 15, the postgres:15 of docker-compose.yml (`carewatch db backup` runs pg_dump);
# WenQuanYi Micro Hei gives the PDF reports their Chinese glyphs.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*
# carewatch runs as its own user; `mosquitto` (uid 1883, as in eclipse-mosquitto) lets `carewatch mqtt-config`,
# run as root, give the broker's user the password file and ACL it writes into the shared volume.
RUN groupadd --system --gid 1883 mosquitto && useradd --system --uid 1883 --gid 1883 --no-create-home mosquitto \
 && groupadd --system --gid 10001 carewatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/carewatch carewatch \
 && mkdir -p /var/lib/carewatch/edge && chown -R carewatch:carewatch /var/lib/carewatch
WORKDIR /app
COPY pyproject.toml README.md ./
COPY carewatch carewatch
COPY devices devices
COPY edge edge
COPY server server
RUN pip install --no-cache-dir .
COPY config config
ENV CAREWATCH_CONFIG=/app/config/facility.yaml
USER carewatch
EXPOSE 8000
CMD ["carewatch", "server"]
