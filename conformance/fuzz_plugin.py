"""The pytest plugin of a fuzzing session (``ndpool fuzz``, loaded with ``-p``).

HypoFuzz collects the tests of :mod:`.fuzz_suite` with pytest and fuzzes each under a key
of its own: a digest of the test function and its pytest node id. ``ndpool check``
stores and replays each op x property cell under another key
(:meth:`~ndpool.conformance.runner.CheckContext.database_key`). This plugin makes the two
meet:

- before the suite is imported (``pytest_configure``) it loads a Hypothesis settings
  profile whose database is the ``--ndpool-db`` database seen through
  :class:`KeyMappedDatabase`, which stores what HypoFuzz writes under a fuzz test's key
  under its cell's ``ndpool check`` key instead (HypoFuzz fuzzes with the default
  profile's database);
- when the tests are collected (``pytest_collection_modifyitems``) it maps each test's
  HypoFuzz key to its cell's key, and deselects the cells the target cannot run (an op
  it lacks, a property that does not apply).

So a failure HypoFuzz finds is the first example the next ``ndpool check --db`` of the
same database replays, on any machine, and a failure a check stored is where HypoFuzz
starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import settings
from hypothesis.database import ExampleDatabase, ListenerEventT
from hypothesis.internal.reflection import function_digest

from .example_db import open_database
from .properties import availability
from .runner import CheckContext
from .targets import load_target

#: the length of a Hypothesis test's database key (a SHA-384 digest); HypoFuzz appends
#: suffixes (``.secondary``, ``.hypofuzz.corpus``, ...) to it
KEY_LENGTH = 48

PROFILE = "ndpool-fuzz"


class KeyMappedDatabase(ExampleDatabase):
    """``db``, with the keys that start with a mapped prefix stored under another prefix.

    >>> from hypothesis.database import InMemoryExampleDatabase
    >>> inner = InMemoryExampleDatabase()
    >>> db = KeyMappedDatabase(inner)
    >>> db.map(b"f" * 48, b"c" * 48)
    >>> db.save(b"f" * 48 + b".secondary", b"x")
    >>> list(inner.fetch(b"c" * 48 + b".secondary")), list(db.fetch(b"f" * 48 + b".secondary"))
    ([b'x'], [b'x'])
    """

    def __init__(self, db: ExampleDatabase, location: str = "") -> None:
        super().__init__()
        self.db = db
        #: where ``db`` is (``--ndpool-db``)
        self.location = location
        self._out: dict[bytes, bytes] = {}
        self._in: dict[bytes, bytes] = {}

    def __repr__(self) -> str:
        return f"KeyMappedDatabase({self.db!r}, {len(self._out)} keys mapped)"

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def map(self, key: bytes, stored_as: bytes) -> None:
        """Store what is written under ``key`` (and ``key`` + any suffix) under
        ``stored_as`` (+ the same suffix)."""
        if len(key) != KEY_LENGTH or len(stored_as) != KEY_LENGTH:
            raise ValueError(f"keys are {KEY_LENGTH} bytes long, not {len(key)}, {len(stored_as)}")
        self._out[key] = stored_as
        self._in[stored_as] = key

    @staticmethod
    def _translate(key: bytes, table: dict[bytes, bytes]) -> bytes:
        head = key[:KEY_LENGTH]
        return table[head] + key[KEY_LENGTH:] if head in table else key

    def fetch(self, key: bytes) -> Iterable[bytes]:
        yield from self.db.fetch(self._translate(key, self._out))

    def save(self, key: bytes, value: bytes) -> None:
        self.db.save(self._translate(key, self._out), value)

    def delete(self, key: bytes, value: bytes) -> None:
        self.db.delete(self._translate(key, self._out), value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.db.move(self._translate(src, self._out), self._translate(dest, self._out), value)

    def _forward(self, event: ListenerEventT) -> None:
        kind, (key, value) = event
        self._broadcast_change((kind, (self._translate(key, self._in), value)))

    def _start_listening(self) -> None:
        self.db.add_listener(self._forward)

    def _stop_listening(self) -> None:
        self.db.remove_listener(self._forward)


def _option(config, name: str, default=None):
    value = config.getoption(name, default=None)
    return default if value is None else value


def pytest_configure(config) -> None:
    """Load the settings profile whose database is the mapped ``--ndpool-db`` (once per
    process: HypoFuzz collects again in its workers, where the suite's module may be
    imported already, its test holding the database it was decorated with)."""
    location = _option(config, "--ndpool-db")
    if not location:
        raise RuntimeError("a fuzzing session needs --ndpool-db (ndpool fuzz passes it)")
    current = settings().database
    if isinstance(current, KeyMappedDatabase) and current.location == location:
        return
    db = KeyMappedDatabase(open_database(location), location)
    # HypoFuzz refuses derandomized tests, and Hypothesis loads its derandomizing `ci`
    # profile wherever a CI variable is set: a fuzzing session is random whatever the host
    settings.register_profile(PROFILE, database=db, deadline=None, derandomize=False)
    settings.load_profile(PROFILE)


def pytest_collection_modifyitems(session, config, items) -> None:
    """Map each fuzz test's HypoFuzz key to its cell's key; deselect the cells the
    target cannot run."""
    db = settings().database
    if not isinstance(db, KeyMappedDatabase):  # another plugin loaded another profile
        raise RuntimeError(f"the fuzzing session's database was replaced by {db!r}")
    target = load_target(
        _option(config, "--ndpool-target", "ndpool.impl"),
        device=_option(config, "--ndpool-device", "cpu"),
    )
    ctx = CheckContext(target, seed=0, deviations=_option(config, "--ndpool-deviations"))
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        inner = getattr(getattr(item.obj, "hypothesis", None), "inner_test", None)
        if inner is None or "op" not in params or "prop" not in params:
            keep.append(item)
            continue
        op, prop = params["op"], params["prop"]
        if availability(target, op, prop) is not None:
            drop.append(item)
            continue
        # HypoFuzz's key of this test (hypofuzz.collection: the digest of the inner test,
        # told the node id apart from the other parametrizations)
        inner._hypothesis_internal_add_digest = item.nodeid.encode()
        db.map(function_digest(inner), ctx.database_key(op, prop))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
