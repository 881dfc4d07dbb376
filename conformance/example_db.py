"""The example database a check replays first and writes its failures to.

``--db`` names one of two kinds, both Hypothesis' own:

- a directory (``.ndpool-db``): :class:`~hypothesis.database.DirectoryBasedExampleDatabase`,
  the kind a CI cache keeps between runs;
- ``redis://host:port[/db]``: :class:`~hypothesis.extra.redis.RedisExampleDatabase`, one
  database that every shard, machine and fuzzing worker of a campaign reads and writes,
  so a failure found by any of them replays first everywhere (it needs the ``redis``
  package: ``pip install -e '.[campaign]'`` in a checkout).

Every op x property cell of a target has its own key
(:meth:`~ndpool.conformance.runner.CheckContext.database_key`); Hypothesis replays the
examples stored under it before drawing new ones, and stores the minimal failing example
of a failure there.
"""

from __future__ import annotations

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

#: what to install for a Redis database
REDIS_INSTALL = "pip install redis (or, in a checkout of ndpool, pip install -e '.[campaign]')"


class DatabaseError(ValueError):
    """The database cannot be used; the message says why, in one line."""


def is_redis(location: str) -> bool:
    """Whether ``location`` names a Redis server rather than a directory."""
    return location.startswith(REDIS_SCHEMES)


def open_database(location: str) -> ExampleDatabase:
    """The Hypothesis example database at ``location`` (a directory or a Redis URL).

    >>> import tempfile
    >>> db = open_database(tempfile.mkdtemp())
    >>> db.save(b"key", b"value"); sorted(db.fetch(b"key"))
    [b'value']
    """
    if not is_redis(location):
        return DirectoryBasedExampleDatabase(location)
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise DatabaseError(f"--db {location} needs the redis package: {REDIS_INSTALL}") from None
    client = redis.Redis.from_url(location, socket_connect_timeout=5, socket_timeout=30)
    return RedisExampleDatabase(client)


def check_database(location: str) -> None:
    """Raise :class:`DatabaseError` unless the database at ``location`` can be used: a
    Redis server must answer, a directory must be one (or not exist yet)."""
    if not is_redis(location):
        from pathlib import Path

        path = Path(location)
        if path.exists() and not path.is_dir():
            raise DatabaseError(f"--db {location}: exists and is not a directory")
        return
    db = open_database(location)
    try:
        db.redis.ping()
    except Exception as exc:  # redis' ConnectionError, TimeoutError, an auth error
        raise DatabaseError(
            f"--db {location}: the Redis server does not answer ({type(exc).__name__}: {exc})"
        ) from None


def stored(db: ExampleDatabase, key: bytes) -> int:
    """How many examples ``db`` holds for ``key`` (its failures, and the earlier failing
    examples Hypothesis keeps under ``key.secondary``): what a run replays first."""
    return len(list(db.fetch(key))) + len(list(db.fetch(key + b".secondary")))
