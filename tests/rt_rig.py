"""A real Request Tracker 5 for tests: Debian's packages, run on loopback with their own config,
their own SQLite database and their own state directories, so runs never share anything.

    reason = rt_skip_reason()            # None, or why the RT tests must skip
    with running_rt() as rt:             # started; stopped (process group) at the end
        requests.get(rt.rest_url + "/queues/all", auth=rt.auth)
        rt.restart()                     # same port, same database: "polling after downtime"

`python tests/rt_rig.py` starts one, creates a ticket, prints it and stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
SETUP_DATABASE = (Path("/usr/sbin/rt-setup-database-5"), Path("/usr/sbin/rt-setup-database"))
RT_LIB = Path("/usr/share/request-tracker5/lib")
# rt5-db-sqlite and rt5-standalone ship no files of their own, only these dependencies.
PERL_MODULES = ("/usr/lib/*/perl5/*/DBD/SQLite.pm", "/usr/share/perl5/Plack/Handler/Starlet.pm")
SKIP_REASON = (
    "Request Tracker 5 is not installed "
    "(apt-get install request-tracker5 rt5-db-sqlite rt5-standalone)"
)

ROOT_USER = "root"
ROOT_PASSWORD = "password"
START_TIMEOUT = 90.0  # seconds; a cold start takes about 3 s on 2 cores
WORKERS = 4  # Starlet's default is 10; 4 still serves a webhook receiver that calls RT back


def rt_skip_reason() -> str | None:
    """None when Debian's RT 5 with SQLite and the standalone server is installed."""
    if not (RT_SERVER.is_file() and os.access(RT_SERVER, os.X_OK)):
        return SKIP_REASON
    if _setup_database() is None:
        return SKIP_REASON
    if not all(glob.glob(pattern) for pattern in PERL_MODULES):
        return SKIP_REASON
    return None


def _setup_database() -> Path | None:
    return next((path for path in SETUP_DATABASE if path.is_file()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _site_config(home: Path, port: int, database: Path, extra: str) -> str:
    # RT's config files are Perl. The $RT::... paths default to /var/{lib,cache}/request-tracker5
    # (RT/Generated.pm): moved here so runs share no Mason cache, sessions or mbox files, and so
    # RT runs without root.
    return f"""
Set($rtname, 'rt.test');
Set($Organization, 'rt.test');
Set($CorrespondAddress, 'rt@rt.test');
Set($CommentAddress, 'rt-comment@rt.test');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{database}');
# Outgoing mail (autoreplies to requestors) goes to $RT::VarPath/*.mbox, never to a mail server.
Set($MailCommand, 'mbox');
Set($LogToSTDERR, 'warning');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($Timezone, 'UTC');
# Basic and token auth run bcrypt on every request: cost 12 (RT's default) costs 0.4 s a call.
Set($BcryptCost, 4);
$RT::VarPath = '{home}/var';
$RT::MasonDataDir = '{home}/mason';
$RT::MasonSessionDir = '{home}/sessions';
{extra}
1;
"""


def _write_config(home: Path, port: int, database: Path, extra: str = "") -> dict[str, str]:
    """Writes the config under `home` and returns the environment that points RT at it."""
    for sub in ("etc/RT_SiteConfig.d", "var", "mason", "sessions"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # RT_SITE_CONFIG replaces /etc/request-tracker5/RT_SiteConfig.pm (root-only readable);
    # RT_SITE_CONFIG_DIR replaces both RT_SiteConfig.d directories (RT/Config.pm, LoadConfig).
    (home / "etc/RT_SiteConfig.pm").write_text("1;\n")
    (home / "etc/RT_SiteConfig.d/99-test.pm").write_text(_site_config(home, port, database, extra))
    return {
        **os.environ,
        "RT_SITE_CONFIG": str(home / "etc/RT_SiteConfig.pm"),
        "RT_SITE_CONFIG_DIR": str(home / "etc/RT_SiteConfig.d"),
    }


_pristine: Path | None = None


def pristine_database() -> Path:
    """A freshly initialised database, made once per process (`--action init` takes ~3.5 s,
    copying it takes milliseconds). Debian's own /var/lib/dbconfig-common/... file is not
    used: it is root-only, may have been changed, and its root password has bcrypt cost 12."""
    global _pristine
    if _pristine is not None and _pristine.is_file():
        return _pristine
    setup = _setup_database()
    if setup is None:
        raise RuntimeError(SKIP_REASON)
    home = Path(tempfile.mkdtemp(prefix="rt-pristine-"))
    atexit.register(shutil.rmtree, home, True)
    database = home / "rt.db"
    env = _write_config(home, free_port(), database)
    password_file = home / "root-password"
    password_file.write_text(ROOT_PASSWORD)
    result = subprocess.run(
        [str(setup), "--action", "init", "--root-password-file", str(password_file)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not database.is_file():
        raise RuntimeError(
            f"rt-setup-database --action init failed:\n{result.stdout}{result.stderr}"
        )
    _pristine = database
    return database


class RTServer:
    """One rt-server process group on 127.0.0.1 with its own database and config."""

    def __init__(self, home: Path | None = None, port: int | None = None, extra_config: str = ""):
        self.home = home or Path(tempfile.mkdtemp(prefix="rt-test-"))
        self.port = port or free_port()
        self.database = self.home / "var/rt.db"
        self.log_path = self.home / "rt-server.log"
        self.user = ROOT_USER
        self.password = ROOT_PASSWORD
        self._env = _write_config(self.home, self.port, self.database, extra_config)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/REST/2.0"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts RT; keeps the database if there is one (restart), else copies a fresh one."""
        if self.running:
            return
        if not self.database.exists():
            shutil.copyfile(pristine_database(), self.database)
        log = self.log_path.open("ab")
        try:
            # Own session: stop() kills Starlet's parent and its workers as one process group.
            self._process = subprocess.Popen(
                [
                    str(RT_SERVER),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--max-workers",
                    str(WORKERS),
                ],
                env=self._env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"rt-server exited early:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                answer = requests.get(f"{self.rest_url}/rt", auth=self.auth, timeout=5)
                if answer.status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"rt-server did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # SIGTERM, not SIGINT: rt-server's SIGINT handler chowns /var/lib/request-tracker5 (root).
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers may outlive the parent for a moment; the group is gone once none answers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def restart(self, downtime: float = 0.0) -> None:
        """Stops and starts again on the same port with the same database."""
        self.stop()
        time.sleep(downtime)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _run_perl_tool(self, args: list[str], timeout: float = 120) -> str:
        result = subprocess.run(
            args,
            env=self._env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def load_initialdata(self, path: Path | str) -> str:
        """What an RT admin runs: rt-setup-database --action insert --datafile FILE. Works while
        the server runs (SQLite allows the second writer; RT reads scrips and custom fields
        from the database on each transaction)."""
        setup = _setup_database()
        if setup is None:
            raise RuntimeError(SKIP_REASON)
        return self._run_perl_tool(
            [str(setup), "--action", "insert", "--datafile", str(Path(path).resolve())]
        )

    def create_token(self, user: str = ROOT_USER, description: str = "adapter tests") -> str:
        """An RT auth token ("1-<user id>-<32 hex>") for `Authorization: token ...`. REST 2
        has no call for it (RT/REST2/Resource/ has no AuthToken), so RT's Perl API makes it."""
        script = (
            "use strict; use warnings; use RT; RT::LoadConfig(); RT::Init();"
            " my $u = RT::User->new(RT->SystemUser); $u->Load($ARGV[0]);"
            " die qq{no user $ARGV[0]\\n} unless $u->id;"
            " my ($id, $msg, $auth) = RT::AuthToken->new(RT->SystemUser)"
            "->Create(Owner => $u->id, Description => $ARGV[1]);"
            " die qq{$msg\\n} unless $id; print qq{$auth\\n};"
        )
        output = self._run_perl_tool(
            ["/usr/bin/perl", f"-I{RT_LIB}", "-e", script, user, description]
        )
        return output.strip().splitlines()[-1]


@contextlib.contextmanager
def running_rt(extra_config: str = "") -> Iterator[RTServer]:
    """Yields a started RT (fresh database) and removes it afterwards, whatever happened."""
    reason = rt_skip_reason()
    if reason:
        raise RuntimeError(reason)
    server = RTServer(extra_config=extra_config)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def _main() -> int:
    reason = rt_skip_reason()
    if reason:
        print(f"skip: {reason}")
        return 0
    started = time.monotonic()
    with running_rt() as rt:
        print(f"RT at {rt.base_url} ({time.monotonic() - started:.1f} s), home {rt.home}")
        created = requests.post(
            f"{rt.rest_url}/ticket",
            auth=rt.auth,
            json={
                "Queue": "General",
                "Subject": "rt_rig check",
                "Requestor": "rig@example.com",
                "Content": "created by tests/rt_rig.py",
                "ContentType": "text/plain",
            },
            timeout=30,
        )
        created.raise_for_status()
        ticket = requests.get(
            f"{rt.rest_url}/ticket/{created.json()['id']}", auth=rt.auth, timeout=30
        )
        ticket.raise_for_status()
        data = ticket.json()
        print(
            {key: data[key] for key in ("id", "Subject", "Status", "Created", "LastUpdated")},
            "requestor:",
            [person["id"] for person in data["Requestor"]],
        )
    print(f"stopped after {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
