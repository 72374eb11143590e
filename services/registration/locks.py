"""A first-come, first-served mutex per key, built on unique-index inserts.

FerretDB 1.24 on PostgreSQL applies ``update_one`` and ``find_one_and_update`` as a
read followed by a write. Concurrent updates of one document therefore lose each
other's changes, even with a condition in the filter: 400 concurrent ``$inc`` of
one counter left it at 32 on a 2-vCPU development machine. An insert that a
unique index rejects is atomic on both FerretDB and MongoDB, so the lock is a
queue of ticket documents ``<key>#<generation>``:

* a worker takes the next ticket by inserting generation g + 1 after the latest;
* it holds the lock once ticket g is released (it held the lock and let go).
  Tickets whose waiters gave up, or whose 30-second lease ran out, are skipped,
  looking further back;
* it releases by marking its ticket released.

Tickets are served in order, so a steady stream of newcomers cannot starve an
earlier waiter. A holder that dies is skipped once its lease runs out, and the
next holder is told so, so it can repair what may have been left half-written.
"""

import logging
import random
import time
from contextlib import contextmanager
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from cities_common.errors import Conflict
from services.registration.clock import utc_now

logger = logging.getLogger(__name__)

# A ticket expires this long after it was taken. Waiting (at most WAIT_SECONDS)
# and then holding the lock for milliseconds fit well inside it, so only a dead
# or stalled worker's ticket expires.
LEASE = timedelta(seconds=30)
# How long an acquirer waits before giving up with ``Conflict``.
WAIT_SECONDS = 8.0
# Waiters poll their predecessor's ticket with exponential backoff between these
# bounds; every poll is a query, so polling faster slows the holder down.
FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.1
# Generations older than this many are deleted now and then.
KEEP_GENERATIONS = 100


class Mutex:
    """Locks keyed by a string, stored in one collection."""

    def __init__(self, collection):
        self.locks = collection

    def ensure_indexes(self) -> None:
        self.locks.create_index([("key", 1), ("generation", -1)], name="by_key")

    @contextmanager
    def hold(self, key: str):
        """Hold the lock on ``key``; yield True when a dead holder's lease was skipped.

        Raises ``Conflict`` when the lock is not reached within ``WAIT_SECONDS``.
        """
        generation = self.take_ticket(key)
        took_over = self.wait_turn(key, generation)
        try:
            yield took_over
        finally:
            self.release(key, generation)

    def take_ticket(self, key: str) -> int:
        """Join the queue for ``key``; return the ticket's generation."""
        return self._take_ticket(key)

    def wait_turn(self, key: str, generation: int, stop=None) -> bool | None:
        """Wait for the ticket's turn; return True if a dead holder was skipped.

        ``stop`` is polled while waiting. When it returns True the ticket is given
        up and None is returned. Raises ``Conflict`` after ``WAIT_SECONDS``, with
        the ticket given up as well.
        """
        try:
            took_over = self._wait_turn(key, generation, stop)
        except BaseException:
            self._mark(key, generation, "abandoned")
            raise
        if took_over is None:
            self._mark(key, generation, "abandoned")
        return took_over

    def release(self, key: str, generation: int) -> None:
        self._mark(key, generation, "released")
        if generation % KEEP_GENERATIONS == 0:
            # Every ticket before this one has finished, so old ones can go.
            self.locks.delete_many(
                {"key": key, "generation": {"$lt": generation - KEEP_GENERATIONS}})

    def _take_ticket(self, key: str) -> int:
        latest = self.locks.find_one({"key": key}, sort=[("generation", -1)])
        generation = (latest["generation"] if latest else 0) + 1
        while True:
            try:
                self.locks.insert_one({"_id": f"{key}#{generation}", "key": key,
                                       "generation": generation, "state": "waiting",
                                       "expires_at": utc_now() + LEASE})
                return generation
            except DuplicateKeyError:
                generation += 1  # another worker took this ticket first

    def _wait_turn(self, key: str, generation: int, stop) -> bool | None:
        deadline = time.monotonic() + WAIT_SECONDS
        delay = FIRST_POLL_SECONDS
        took_over = False
        previous = generation - 1
        while previous > 0:
            ticket = self.locks.find_one({"_id": f"{key}#{previous}"})
            if ticket is None or ticket["state"] == "released":
                break
            if ticket["state"] == "abandoned":
                previous -= 1
                continue
            if ticket["expires_at"] <= utc_now():
                logger.warning("skipping lock ticket %s#%s whose lease ran out", key,
                               previous)
                took_over = True
                previous -= 1
                continue
            if stop is not None and stop():
                return None
            if time.monotonic() > deadline:
                raise Conflict(f"{key} is busy; retry in a few seconds")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, MAX_POLL_SECONDS)
        return took_over

    def _mark(self, key: str, generation: int, state: str) -> None:
        self.locks.update_one({"_id": f"{key}#{generation}"}, {"$set": {"state": state}})
