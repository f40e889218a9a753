# One image for carewatch server, edge and sim; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY carewatch carewatch
COPY devices devices
COPY edge edge
COPY server server
RUN pip install --no-cache-dir .
COPY config config
ENV CAREWATCH_CONFIG=/app/config/facility.yaml
EXPOSE 8000
CMD ["carewatch", "server"]
