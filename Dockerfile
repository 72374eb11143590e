# One image for every service; docker-compose.yml picks the service by command.
FROM python:3.11.7-slim
WORKDIR /app
COPY pyproject.toml ./
COPY cities_common ./cities_common
COPY services ./services
COPY gateway ./gateway
COPY deploy/nameko.yml ./deploy/nameko.yml
RUN pip install --no-cache-dir .
RUN useradd --system --no-create-home app
USER app
