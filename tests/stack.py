"""Per-session isolation on the real servers: a RabbitMQ vhost, and prefixed
MongoDB databases and Elasticsearch indexes, all removed afterwards."""

import os
import subprocess
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pymongo
import pytest
from elasticsearch import Elasticsearch
from kombu import Connection

from cities_common.config import load_settings


def unreachable(message: str):
    """Fail, never skip: a test that cannot reach its real server is a failure."""
    pytest.fail(f"{message}. Start the servers with `deploy/stack start` "
                "(the test command `deploy/test` does it for you).", pytrace=False)


def rabbitmqctl(*args: str) -> None:
    node = os.environ.get("RABBITMQ_NODENAME", "colearn@localhost")
    result = subprocess.run(["rabbitmqctl", "-q", "-n", node, *args],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        unreachable(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


def vhost_uri(amqp_uri: str, vhost: str) -> str:
    parts = urlsplit(amqp_uri)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


class Namespace:
    """One isolated namespace on the shared servers."""

    def __init__(self):
        self.name = f"t{uuid.uuid4().hex[:10]}"
        self.settings = load_settings({"COL_NAMESPACE": self.name})
        self.amqp_uri = vhost_uri(self.settings.amqp_uri, self.name)

    def create(self) -> "Namespace":
        try:
            pymongo.MongoClient(self.settings.mongo_url,
                                serverSelectionTimeoutMS=3000).admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            unreachable(f"MongoDB-wire server at {self.settings.mongo_url} is "
                        f"unreachable ({exc})")
        try:
            Elasticsearch(self.settings.es_url).cluster.health()
        except Exception as exc:
            unreachable(f"Elasticsearch at {self.settings.es_url} is unreachable ({exc})")
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        with Connection(self.amqp_uri) as connection:
            connection.ensure_connection(max_retries=3)
        return self

    def config(self, **extra) -> dict:
        return {"AMQP_URI": self.amqp_uri, "MONGO_URL": self.settings.mongo_url,
                "ES_URL": self.settings.es_url, "COL_NAMESPACE": self.name, **extra}

    def destroy(self) -> None:
        client = pymongo.MongoClient(self.settings.mongo_url)
        for database in client.list_database_names():
            if database.startswith(f"{self.name}_"):
                client.drop_database(database)
        es = Elasticsearch(self.settings.es_url)
        indexes = es.indices.get(index=f"{self.settings.es_prefix()}*",
                                 expand_wildcards="all", ignore_unavailable=True)
        for index in indexes:
            es.indices.delete(index=index)
        rabbitmqctl("delete_vhost", self.name)
