"""A local Arize Phoenix server run in the background, on loopback only, with its state under the data directory.

Guarantees:

- Phoenix listens on 127.0.0.1 only: HTTP through ``PHOENIX_HOST``, gRPC through :mod:`.loopback_serve`.
- It makes no outbound calls it can be told not to make (external resources, telemetry, agent assistant are off).
- Its database, log, PID record and Phoenix's own temp PID files live under ``<data dir>/phoenix``; nothing goes to
  ``~/.phoenix`` or ``/tmp``.
- ``stop()`` signals exactly the process ``start()`` launched: the PID record holds the PID *and* the kernel's start
  time of that process, so a recycled PID is never signalled.
- ``start()`` returns only once ``GET /healthz`` answers, or raises with the tail of Phoenix's log.
- With ``auth=True`` Phoenix runs with its own authentication (``PHOENIX_ENABLE_AUTH``): the JWT secret and an admin
  secret (Phoenix's bearer key for the first system user) are generated once, kept 0600 in ``<data dir>/phoenix``,
  and ``api_key()`` returns the key that OTLP export, the REST client and the demo then send. Phoenix is a view for
  engineers; the audit trail stays the record, whatever Phoenix holds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

DATA_DIR_ENV = "GXP_OTEL_DATA_DIR"
LOOPBACK = "127.0.0.1"
DEFAULT_HTTP_PORT = 6006
DEFAULT_GRPC_PORT = 4317
LAUNCHER_MODULE = "gxp_otel.phoenix.loopback_serve"

State = Literal["running", "starting", "stopped", "foreign"]


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The project's data directory: ``explicit``, else ``$GXP_OTEL_DATA_DIR``, else ``./data``."""
    if explicit is not None:
        return Path(explicit).resolve()
    return Path(os.environ.get(DATA_DIR_ENV) or "data").resolve()


class PhoenixError(RuntimeError):
    """Phoenix could not be started or stopped; the message says why and where the log is."""


@dataclass(frozen=True)
class PhoenixProcess:
    """The PID record of a Phoenix this module launched (``<data dir>/phoenix/server.json``)."""

    pid: int
    start_ticks: int
    http_port: int
    grpc_port: int
    working_dir: str
    log_file: str
    started_at: float
    auth: bool = False

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"


@dataclass(frozen=True)
class PhoenixStatus:
    """What runs where. ``process`` is set when the PID record names a live process this module launched."""

    state: State
    url: str
    http_port: int
    grpc_port: int
    process: PhoenixProcess | None
    detail: str


def _start_ticks(pid: int) -> int | None:
    """Kernel start time of ``pid`` in clock ticks (field 22 of /proc/<pid>/stat); None if not a live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _is_our_process(record: PhoenixProcess) -> bool:
    if _start_ticks(record.pid) != record.start_ticks:
        return False
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return LAUNCHER_MODULE.encode() in cmdline


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` (checked by binding it, then letting go).

    SO_REUSEADDR as the servers themselves use it, so connections of a just-stopped Phoenix still in TIME_WAIT do not
    make its port look taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for tests and ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``<url>/healthz`` answers 200."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class PhoenixServer:
    """Start, stop and inspect one background Phoenix bound to 127.0.0.1, keyed by its data directory.

    One data directory holds at most one Phoenix launched by this class; its ports are recorded there, so
    ``status()`` and ``stop()`` from another process (the CLI) find it again. Port 0 means any free port.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        http_port: int = DEFAULT_HTTP_PORT,
        grpc_port: int = DEFAULT_GRPC_PORT,
        auth: bool = False,
    ) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.auth = auth
        self.phoenix_dir = self.data_dir / "phoenix"
        self.record_file = self.phoenix_dir / "server.json"
        self.log_file = self.phoenix_dir / "phoenix.log"
        self.auth_file = self.phoenix_dir / "auth.json"  # 0600: Phoenix's JWT secret and admin (API) key
        self.api_key_file = self.phoenix_dir / "api-key"  # 0600: the key alone, for `PHOENIX_API_KEY=$(cat ...)`
        self.http_port = http_port or free_port()
        self.grpc_port = grpc_port or free_port()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    # -- authentication -------------------------------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The bearer key of the Phoenix started here with auth, or None (no auth)."""
        record = self.read_record()
        if record is not None and not record.auth:
            return None
        try:
            return json.loads(self.auth_file.read_text())["admin_secret"]
        except (OSError, ValueError, KeyError):
            return None

    def _auth_secrets(self) -> dict[str, str]:
        """Generated once per data directory (Phoenix needs >= 32 characters with a digit and a lowercase letter)."""
        try:
            return json.loads(self.auth_file.read_text())
        except (OSError, ValueError):
            pass
        import secrets

        values = {"secret": "s1" + secrets.token_hex(24), "admin_secret": "k1" + secrets.token_hex(24)}
        for path, text in ((self.auth_file, json.dumps(values)), (self.api_key_file, values["admin_secret"] + "\n")):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        return values

    # -- PID record -----------------------------------------------------------------------------------------------

    def read_record(self) -> PhoenixProcess | None:
        try:
            return PhoenixProcess(**json.loads(self.record_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _write_record(self, record: PhoenixProcess) -> None:
        tmp = self.record_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
        os.replace(tmp, self.record_file)

    def _alive(self, record: PhoenixProcess) -> bool:
        """Whether the recorded process still runs. For the child this object spawned, ask the child itself: between
        fork and exec its command line is still the parent's, so the /proc check would call it someone else."""
        if self._child is not None and self._child.pid == record.pid:
            return self._child.poll() is None
        return _is_our_process(record)

    def _live_record(self) -> PhoenixProcess | None:
        """The PID record if it names a live process we launched; a stale record is removed."""
        record = self.read_record()
        if record is None:
            return None
        if self._alive(record):
            return record
        self.record_file.unlink(missing_ok=True)
        return None

    # -- status, start, stop --------------------------------------------------------------------------------------

    def status(self) -> PhoenixStatus:
        record = self._live_record()
        if record is not None:
            healthy = is_healthy(record.url)
            return PhoenixStatus(
                state="running" if healthy else "starting",
                url=record.url,
                http_port=record.http_port,
                grpc_port=record.grpc_port,
                process=record,
                detail=f"pid {record.pid}, data {record.working_dir}, log {record.log_file}",
            )
        if is_healthy(self.url):
            return PhoenixStatus(
                "foreign", self.url, self.http_port, self.grpc_port, None,
                f"a Phoenix not started from {self.data_dir} answers at {self.url}",
            )
        return PhoenixStatus("stopped", self.url, self.http_port, self.grpc_port, None, "not running")

    def start(self, timeout: float = 120.0) -> PhoenixStatus:
        """Launch Phoenix unless ours already runs; return once it is healthy.

        Raises :class:`PhoenixError` when a port is taken by something else, the process exits, or it is not
        healthy within ``timeout`` seconds (then it is stopped again, so nothing is left behind).
        """
        current = self.status()
        if current.process is not None:
            self.http_port, self.grpc_port = current.http_port, current.grpc_port
            return self._wait_healthy(current.process, timeout)
        for port, what in ((self.http_port, "HTTP"), (self.grpc_port, "gRPC")):
            if not port_is_free(port):
                raise PhoenixError(
                    f"{what} port {LOOPBACK}:{port} is in use by another program "
                    f"({current.detail if current.state == 'foreign' else 'not a Phoenix started here'}); "
                    "choose other ports with --port/--grpc-port"
                )
        self.phoenix_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.phoenix_dir / "tmp").mkdir(exist_ok=True, mode=0o700)
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- gxp-otel: starting Phoenix at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n".encode())
            log.flush()
            self._child = subprocess.Popen(
                [sys.executable, "-m", LAUNCHER_MODULE],
                env=self._child_env(),
                cwd=self.phoenix_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ticks = _start_ticks(self._child.pid)
        record = PhoenixProcess(
            pid=self._child.pid,
            start_ticks=ticks if ticks is not None else -1,
            http_port=self.http_port,
            grpc_port=self.grpc_port,
            working_dir=str(self.phoenix_dir),
            log_file=str(self.log_file),
            started_at=time.time(),
            auth=self.auth,
        )
        self._write_record(record)
        return self._wait_healthy(record, timeout)

    def _child_env(self) -> dict[str, str]:
        """A scrubbed environment: only what a Python process and Phoenix's own settings need, so secrets of this
        process (a signing passphrase variable, tokens) are never inherited by the long-running server."""
        keep = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR")
        env = {name: value for name, value in os.environ.items()
               if name in keep or name.startswith(("LC_", "PHOENIX_"))}
        env.update(
            PHOENIX_WORKING_DIR=str(self.phoenix_dir),
            PHOENIX_HOST=LOOPBACK,
            PHOENIX_PORT=str(self.http_port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_DISABLE_AGENT_ASSISTANT="true",
            TMPDIR=str(self.phoenix_dir / "tmp"),
        )
        env.pop("PHOENIX_SQL_DATABASE_URL", None)
        for name in ("PHOENIX_ENABLE_AUTH", "PHOENIX_SECRET", "PHOENIX_ADMIN_SECRET", "PHOENIX_API_KEY"):
            env.pop(name, None)
        if self.auth:
            secrets_ = self._auth_secrets()
            env.update(PHOENIX_ENABLE_AUTH="true", PHOENIX_SECRET=secrets_["secret"],
                       PHOENIX_ADMIN_SECRET=secrets_["admin_secret"])
        return env

    def _wait_healthy(self, record: PhoenixProcess, timeout: float) -> PhoenixStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(record):
                self.record_file.unlink(missing_ok=True)
                raise PhoenixError(f"Phoenix exited during start-up; see {self.log_file}:\n{self.log_tail()}")
            if is_healthy(record.url, timeout=1.0):
                return self.status()
            time.sleep(0.25)
        self.stop()
        raise PhoenixError(f"Phoenix was not healthy after {timeout:.0f} s; see {self.log_file}:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the Phoenix this data directory's PID record names: SIGTERM, then SIGKILL after ``timeout``.

        Returns False when none of ours was running. Never signals a process it did not launch.
        """
        record = self._live_record()
        if record is None:
            self._reap_child()
            return False
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive(record) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive(record):
            os.kill(record.pid, signal.SIGKILL)
            while self._alive(record):
                time.sleep(0.05)
        self._reap_child()
        self.record_file.unlink(missing_ok=True)
        (self.phoenix_dir / "tmp" / ".arize-phoenix" / "pids" / str(record.pid)).unlink(missing_ok=True)
        return True

    def _reap_child(self) -> None:
        """Collect the exit status of a child this object launched, so it leaves no zombie behind."""
        if self._child is None:
            return
        try:
            self._child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return
        self._child = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
