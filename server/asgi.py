"""The server application for a worker process of `packbench server --workers N`.

uvicorn starts each worker as a fresh process and asks it for the app by import path
(`server.asgi:create`, a factory): the parent passes the data dir in `PACKBENCH_SERVER_DIR` (the
environment, with DATABASE_URL and the secrets, is what workers inherit). The parent has already
migrated the database; each worker opens it and serves. Shared state lives in the database only —
nonces, console sessions, job claims, the scheduler's lock — so any worker can answer any request.
Workers log to standard error (systemd's journal keeps it): one rotating file under several
processes would lose lines at every rotation.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI

from server.app import create_app
from server.config import load_server_config
from server.limits import GuardedH11Protocol

DATA_DIR_ENV = "PACKBENCH_SERVER_DIR"


def create() -> FastAPI:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s [worker {os.getpid()}] "
                                                   "%(name)s: %(message)s")
    config = load_server_config(Path(os.environ[DATA_DIR_ENV]))
    GuardedH11Protocol.header_timeout = config.header_timeout_seconds  # the class this worker serves with
    return create_app(config)
