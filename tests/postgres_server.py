"""A throwaway PostgreSQL server for tests: its own cluster in a temporary folder, on
127.0.0.1 and a free port, stopped and deleted at the end. Use it in a fixture:

    @pytest.fixture(scope="module")
    def postgres():
        with postgres_server() as server:
            yield server

PostgreSQL must be installed (`make system-deps` installs Debian's `postgresql`): a test that
needs it fails, and says so, where it is missing. initdb refuses to run as root, so as root
the cluster belongs to the `postgres` system user (which Debian's package creates).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

INSTALL_HINT = (
    "PostgreSQL is not installed: the PostgreSQL tests need its server binaries (initdb, "
    "pg_ctl). Install them with `make system-deps` (Debian: apt-get install -y postgresql)."
)
PASSWORD = "flywheel-test"  # of a server that listens on 127.0.0.1 for one test run only
# A cluster that only lives for a test run: durability is worth nothing, speed is.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "max_connections": "20",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str

    def environment(self) -> dict[str, str]:
        """The variables dbt's `postgres` target reads (profiles.example.yml)."""
        return {
            "FLYWHEEL_PG_HOST": self.host,
            "FLYWHEEL_PG_PORT": str(self.port),
            "FLYWHEEL_PG_USER": self.user,
            "FLYWHEEL_PG_PASSWORD": self.password,
            "FLYWHEEL_PG_DATABASE": self.database,
        }

    def connect_args(self, database: str | None = None) -> dict:
        """`psycopg2.connect()`'s arguments for the database (default: the test database)."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": database or self.database,
        }

    def connect(self, database: str | None = None):
        """A new psycopg2 connection (the caller closes it)."""
        return psycopg2.connect(**self.connect_args(database))

    def create_database(self, name: str) -> None:
        with closing(self.connect("postgres")) as con:
            con.autocommit = True
            with con.cursor() as cursor:
                cursor.execute(f'create database "{name}"')


def postgres_bindir() -> Path:
    """The folder of initdb and pg_ctl; fails the test when PostgreSQL is not installed."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    # Debian keeps the server binaries off PATH, one folder per major version: newest first.
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(path) for path in debian), key=_major_version, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    pytest.fail(INSTALL_HINT, pytrace=False)


def _major_version(bindir: Path) -> int:
    version = bindir.parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server(database: str = "flywheel", user: str = "flywheel") -> Iterator[PostgresServer]:
    """Start a new cluster, create `database`, yield its settings; stop and delete it after.

    The cluster uses the C locale (byte-order text comparison, as DuckDB) and UTC.
    """
    bindir = postgres_bindir()
    as_owner = _as_cluster_owner()
    # Not under pytest's tmp_path: as root, that folder is closed to the postgres user.
    root = Path(tempfile.mkdtemp(prefix="flywheel-postgres-"))
    data, log, password_file = root / "data", root / "server.log", root / "password"

    def run(*command: str) -> None:
        result = subprocess.run([*as_owner, *command], capture_output=True, text=True)
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{server_log}"
            )

    started = False
    try:
        password_file.write_text(PASSWORD)
        if as_owner:
            for path in (root, password_file):
                shutil.chown(path, user="postgres", group="postgres")
        run(
            str(bindir / "initdb"),
            f"--pgdata={data}",
            f"--username={user}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        for attempt in range(5):  # another process may take the free port first
            port = _free_port()
            settings = SERVER_SETTINGS | {"port": str(port), "unix_socket_directories": str(root)}
            options = " ".join(f"-c {name}={value}" for name, value in settings.items())
            start = ["start", "--wait", f"--pgdata={data}", f"--log={log}", f"--options={options}"]
            try:
                run(str(bindir / "pg_ctl"), *start)
                break
            except RuntimeError:
                if attempt == 4:
                    raise
        started = True
        server = PostgresServer("127.0.0.1", port, user, PASSWORD, database)
        server.create_database(database)
        yield server
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "stop", "--wait", "--mode=fast", f"--pgdata={data}")
        shutil.rmtree(root, ignore_errors=True)


def _as_cluster_owner() -> list[str]:
    """The command prefix that runs the server's programs: as root, the `postgres` user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        pytest.fail("running as root needs `runuser` to start PostgreSQL as `postgres`")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the `postgres` system user (Debian's package has it)")
    return ["runuser", "-u", "postgres", "--"]
