"""Names and lifecycle of the per-city indexes and the aliases in front of them.

Each city has two aliases, ``{prefix}opportunities-{city}`` and
``{prefix}sites-{city}``. Readers and writers only use the aliases. Behind an alias
is one concrete index, named ``{alias}_{generation}``; city slugs contain no
underscore, so these names never collide with another city's alias.

A rebuild creates generation n + 1 with the staging alias
``{prefix}opportunities-{city}_rebuild`` on it. While the staging alias exists,
every write goes to it as well as to the live alias, so changes made during a
rebuild reach the new index. The rebuild then moves the live alias in one atomic
``_aliases`` call and deletes the old index.
"""

import logging
import re

from elasticsearch import BadRequestError, NotFoundError

from services.search.mappings import (
    INDEX_SETTINGS, MAPPING_VERSION, OPPORTUNITY_MAPPING, SITE_MAPPING,
)

logger = logging.getLogger(__name__)

MAPPINGS = {"opportunities": OPPORTUNITY_MAPPING, "sites": SITE_MAPPING}
STAGING_SUFFIX = "_rebuild"
# Indexes created before generations were numbered were named ``{alias}-v1``.
_LEGACY_GENERATION = re.compile(r"-v(\d+)$")


class RebuildInProgress(Exception):
    """Another rebuild of the city owns the staging alias, or one was interrupted."""


class CityIndexes:
    """Create, find, upgrade and swap the indexes behind a namespace's aliases."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix
        self._ready: set[str] = set()

    def alias(self, kind: str, city: str) -> str:
        return f"{self.prefix}{kind}-{city}"

    def staging_alias(self, city: str) -> str:
        return self.alias("opportunities", city) + STAGING_SUFFIX

    def index_name(self, kind: str, city: str, generation: int) -> str:
        return f"{self.alias(kind, city)}_{generation}"

    def generation_of(self, kind: str, city: str, index: str) -> int:
        """Return the generation number in an index name; 0 when it has none."""
        alias = self.alias(kind, city)
        suffix = index[len(alias):]
        if suffix.startswith("_") and suffix[1:].isdigit():
            return int(suffix[1:])
        legacy = _LEGACY_GENERATION.fullmatch(suffix)
        return int(legacy.group(1)) if legacy else 0

    def indexes_behind(self, alias: str) -> list[str]:
        """Return the concrete indexes an alias points to; empty when it does not exist."""
        try:
            return sorted(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            return []

    def ensure_city(self, city: str, force: bool = False) -> None:
        """Create the city's indexes and aliases unless they exist.

        Idempotent, and cached per process: pass ``force`` after a write found the
        alias missing. An existing opportunities index built by older code gets the
        new fields added in place (see ``upgrade_mapping``).
        """
        if city in self._ready and not force:
            return
        for kind, mapping in MAPPINGS.items():
            alias = self.alias(kind, city)
            current = self.indexes_behind(alias)
            if current:
                if kind == "opportunities":
                    for index in current:
                        self.upgrade_mapping(index)
                continue
            self.create_index(kind, city, generation=1,
                              aliases={alias: {"is_write_index": True}})
        self._ready.add(city)

    def remove_city(self, city: str) -> list[str]:
        """Delete every index of the city, with the aliases on them; return their names.

        This includes the index of a rebuild in progress. Writing to the city again
        needs ``ensure_city``, which creates empty indexes.
        """
        names = set()
        for alias in (self.alias("opportunities", city), self.staging_alias(city),
                      self.alias("sites", city)):
            names.update(self.indexes_behind(alias))
        for name in sorted(names):
            self.client.indices.delete(index=name, ignore_unavailable=True)
            logger.info("deleted index %s", name)
        self._ready.discard(city)
        return sorted(names)

    def create_index(self, kind: str, city: str, generation: int, aliases: dict,
                     settings: dict | None = None) -> str:
        """Create generation ``generation``; an index that already exists is kept."""
        index = self.index_name(kind, city, generation)
        try:
            self.client.indices.create(index=index,
                                       settings={**INDEX_SETTINGS, **(settings or {})},
                                       mappings=MAPPINGS[kind], aliases=aliases)
            logger.info("created index %s", index)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        return index

    def upgrade_mapping(self, index: str) -> None:
        """Add the current mapping's new fields to an index built by older code.

        Documents indexed before the upgrade lack the new fields until the city is
        rebuilt, so this logs a warning that names the rebuild command.
        """
        mapping = self.client.indices.get_mapping(index=index)[index]["mappings"]
        version = (mapping.get("_meta") or {}).get("mapping_version", 1)
        if version >= MAPPING_VERSION:
            return
        try:
            self.client.indices.put_mapping(
                index=index, properties=OPPORTUNITY_MAPPING["properties"],
                meta={"mapping_version": MAPPING_VERSION})
        except BadRequestError as exc:
            logger.error("index %s has mapping version %s and cannot be upgraded in "
                         "place (%s); rebuild it with `python -m services.search.admin "
                         "rebuild`", index, version, exc)
            return
        logger.warning("upgraded the mapping of index %s from version %s to %s; run "
                       "`python -m services.search.admin rebuild` for its city so "
                       "existing documents get the new fields", index, version,
                       MAPPING_VERSION)

    def write_targets(self, city: str) -> list[str]:
        """Return the aliases a change must be written to: staging first, then live.

        Staging comes first: if a rebuild swaps the aliases between the two
        writes, the write to the live alias then reaches the new index.
        """
        live = self.alias("opportunities", city)
        staging = self.staging_alias(city)
        if self.client.indices.exists_alias(name=staging):
            return [staging, live]
        return [live]

    def begin_rebuild(self, city: str, discard_stale: bool = False) -> str:
        """Create the next generation behind the staging alias; return its name.

        Raises ``RebuildInProgress`` when the staging alias exists, unless
        ``discard_stale`` deletes what an interrupted rebuild left.
        """
        self.ensure_city(city)
        staging = self.staging_alias(city)
        leftover = self.indexes_behind(staging)
        if leftover and not discard_stale:
            raise RebuildInProgress(
                f"a rebuild of {city} is running or was interrupted: the staging alias "
                f"{staging} points to {', '.join(leftover)}; if no rebuild is running, "
                "rerun with --discard-stale")
        for index in leftover:
            self.client.indices.delete(index=index)
            logger.warning("deleted %s, left by an interrupted rebuild", index)
        live = self.indexes_behind(self.alias("opportunities", city))
        generation = 1 + max(
            [self.generation_of("opportunities", city, index) for index in live + leftover],
            default=0)
        index = self.index_name("opportunities", city, generation)
        if self.client.indices.exists(index=index):
            raise RebuildInProgress(f"index {index} exists already: another rebuild of "
                                    f"{city} is creating it")
        # No refresh while loading; finish_rebuild restores the default.
        return self.create_index("opportunities", city, generation,
                                 aliases={staging: {"is_write_index": True}},
                                 settings={"refresh_interval": "-1"})

    def finish_rebuild(self, city: str, index: str) -> list[str]:
        """Point the live alias at ``index`` in one atomic call; delete the old indexes."""
        live_alias = self.alias("opportunities", city)
        self.client.indices.put_settings(index=index,
                                         settings={"refresh_interval": None})
        self.client.indices.refresh(index=index)
        old = [name for name in self.indexes_behind(live_alias) if name != index]
        actions = [{"remove": {"index": name, "alias": live_alias}} for name in old]
        actions += [
            {"add": {"index": index, "alias": live_alias, "is_write_index": True}},
            {"remove": {"index": index, "alias": self.staging_alias(city)}},
        ]
        self.client.indices.update_aliases(actions=actions)
        logger.info("alias %s now points to %s", live_alias, index)
        for name in old:
            self.client.indices.delete(index=name)
            logger.info("deleted the previous index %s", name)
        return old

    def abandon_rebuild(self, index: str) -> None:
        """Delete a half-built index, with its staging alias, after a failed rebuild."""
        self.client.indices.delete(index=index, ignore_unavailable=True)
        logger.warning("deleted %s after its rebuild failed", index)
