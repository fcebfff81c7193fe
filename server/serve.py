"""`packbench server`: run the server — its log, its files kept private, uvicorn with bounded clients.

Private at rest: the server's data dir holds the database (station HMAC secrets, buyers' addresses),
its WAL, its log and server.toml (hook secrets). At start the process takes umask 077, so every file
it creates — database, WAL, shared memory, rotated logs — is readable by its owner only, and
`make_private` tightens what is already there: the data dir to 0700, those files to 0600, each fix
logged with the mode it had. Backups are written 0600 by `server.backup`.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import BadValue, PackBenchError
from app.i18n import N_
from server.config import CONFIG_FILENAME, ServerConfig
from server.migrations import migrated

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("server")
MAX_WORKERS = 64
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
LOG_FILENAME = "server.log"


def private_files(config: ServerConfig) -> list[Path]:
    """The files that must be the owner's only: configuration, log (and its rotations), SQLite database."""
    folder = Path(config.data_dir)
    found = [folder / CONFIG_FILENAME, *sorted(folder.glob(f"{LOG_FILENAME}*"))]
    if config.database.startswith("sqlite:///"):
        db = Path(config.database.removeprefix("sqlite:///"))
        found += [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
    return [path for path in found if path.exists()]


def make_private(config: ServerConfig) -> list[str]:
    """umask 077 for this process, then the data dir 0700 and its secret-bearing files 0600; what it fixed."""
    os.umask(0o077)
    fixed = []
    folder = Path(config.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for path, wanted in ((folder, PRIVATE_DIR), *((f, PRIVATE_FILE) for f in private_files(config))):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(wanted)
            fixed.append(f"{path} was mode {mode:04o} (open to other users); now {wanted:04o}")
    return fixed


def _report(fixed: list[str]) -> None:
    for line in fixed:
        log.warning("private at rest: %s", line)


def _logging(config: ServerConfig) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    rotating = logging.handlers.RotatingFileHandler(config.data_dir / LOG_FILENAME, maxBytes=10 << 20, backupCount=5,
                                                    encoding="utf-8")
    console = logging.StreamHandler()
    for handler in (rotating, console):
        handler.setFormatter(fmt)
        logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def run_server(args: argparse.Namespace, config: ServerConfig) -> int:
    import uvicorn

    from server.limits import serving_options

    if not 0 < args.port < 65536:
        raise BadValue(N_("--port must be 1 to 65535, not {given}"), given=args.port)
    workers = args.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise BadValue(N_("--workers must be 1 to {most}, not {given}"), most=MAX_WORKERS, given=workers)
    options = dict(host=args.host, port=args.port, log_config=None, proxy_headers=True,
                   forwarded_allow_ips=args.forwarded_allow_ips, root_path=args.root_path,
                   **serving_options(config.header_timeout_seconds))
    if workers == 1:
        from server.app import create_app

        fixed = make_private(config)  # first: the log file is created 0600 too
        _logging(config)
        _report(fixed)
        serve(uvicorn.Config(create_app(config), **options))
        return 0
    # Several processes: migrate once here, then each worker builds its own app (server.asgi).
    import os

    from server.asgi import DATA_DIR_ENV
    from server.metrics import prepare_multiprocess

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _report(make_private(config))  # before the workers start: they inherit the umask
    with migrated(config.database):
        pass
    prepare_multiprocess(config.data_dir)
    os.environ[DATA_DIR_ENV] = str(config.data_dir)
    # Workers are new processes: they get the protocol by name; server.asgi sets its header deadline.
    options["http"] = "server.limits:GuardedH11Protocol"
    serve(uvicorn.Config("server.asgi:create", factory=True, workers=workers, **options))
    return 0


class NotStarted(PackBenchError):
    pass


def serve(config: uvicorn.Config) -> None:
    """Serve as `uvicorn.run` does, but Ctrl-C ends the command as any other's (one line, exit 130)
    and a server that cannot start says so in one line (exit 1). uvicorn.run swallows the Ctrl-C it
    shut down for (the command exited 0) and exits 3, PackBench's code for a broken audit chain,
    when it cannot bind; its own log line above ours says why (a port in use, an unknown address)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        interrupted = False

        def handle_int(self) -> None:
            self.interrupted = True
            super().handle_int()

    try:
        if config.workers == 1:
            # Once shut down, uvicorn raises the signal again with Python's own handler: KeyboardInterrupt.
            uvicorn.Server(config).run()
            return
        supervisor = Supervisor(config, sockets=[config.bind_socket()])
        supervisor.run()
    except SystemExit as exc:
        raise NotStarted(N_("the server did not start on {host}:{port}; the log lines above say why"), host=config.host,
                         port=config.port) from exc
    if supervisor.interrupted:
        raise KeyboardInterrupt
