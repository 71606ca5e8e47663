"""A real gunicorn on loopback, started and always stopped by the bench."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.config import OUT, REPO


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GunicornServer:
    def __init__(self, *, workers: int, environment: dict[str, str]):
        self.workers = workers
        self.port = free_port()
        self.environment = environment
        self.process: subprocess.Popen | None = None
        self.log_path = OUT / "gunicorn.log"
        self.access_log_path = OUT / "gunicorn-access.log"

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self, *, ready_timeout: float = 120.0) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn),
            "epos.wsgi:application",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            # gunicorn also reads the repo's gunicorn.conf.py (the production settings); these
            # flags change only where its logs go, so the bench output stays readable.
            "--error-logfile",
            str(self.log_path),
            "--access-logfile",
            str(self.access_log_path),
            # Ends with the time the worker spent on the request (microseconds), which tells
            # service time from time spent queued for a free worker.
            "--access-logformat",
            '%(t)s "%(r)s" %(s)s %(D)s',
            "--log-level",
            "warning",
        ]
        env = {**os.environ, **self.environment}
        # The server gets its own process group so stop() reaches the workers even if the master
        # is wedged.
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; see {self.log_path}"
                )
            if self._healthy() and len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn was not ready within {ready_timeout:.0f}s; see {self.log_path}"
        )

    def access_log_offset(self) -> int:
        return self.access_log_path.stat().st_size if self.access_log_path.exists() else 0

    def service_times_ms(self, since_offset: int, *, path_contains: str = "") -> list[float]:
        """Worker-side durations of the requests logged after `since_offset`."""
        with self.access_log_path.open("rb") as log:
            log.seek(since_offset)
            lines = log.read().decode(errors="replace").splitlines()
        return [
            int(line.rsplit(" ", 1)[1]) / 1000
            for line in lines
            if path_contains in line and line.rsplit(" ", 1)[-1].isdigit()
        ]

    def _healthy(self) -> bool:
        connection = http.client.HTTPConnection(*self.address, timeout=2)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            return response.status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        master = self.process.pid
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name sits in parentheses and may contain spaces; ppid follows it.
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                children.append(int(entry.name))
        return sorted(children)

    def cpu_seconds(self) -> float:
        """CPU used by the workers so far, including workers already recycled (the master adds
        the CPU of the children it reaped to its own cutime/cstime)."""
        total = sum(process_cpu_seconds(pid) for pid in self.worker_pids())
        if self.process is not None:
            total += process_cpu_seconds(self.process.pid, children=True)
        return total

    @staticmethod
    def rss_mb(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None

    def stop(self, *, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM to the master is gunicorn's graceful stop (it stops its workers); the group
        # kill is the fallback for a wedged master.
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=5)


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of a process (or, with children, of its reaped children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is the state (field 3 of proc(5)); utime, stime, cutime, cstime are 14..17.
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / _TICKS
