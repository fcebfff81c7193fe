"""The system print queue (CUPS `lp`): PDF labels on office printers and CUPS-managed label printers."""

from __future__ import annotations

import shutil
import subprocess

from app.i18n import N_
from drivers.printers.transport import TransportError, why


class SystemQueueTransport:
    bidirectional = False

    def __init__(self, queue: str = "", timeout: float = 20.0, command: str = "lp") -> None:
        self.queue, self.timeout, self.command = queue, timeout, command
        self.name = f"system:{queue or 'default'}"
        self._buffer = bytearray()

    def open(self) -> None:
        if shutil.which(self.command) is None:
            raise TransportError(N_("no print system: {command} (CUPS) is not installed"), command=self.command)
        self._buffer.clear()

    def write(self, data: bytes) -> None:
        self._buffer += data

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        """Hand the whole job to the queue; `lp` answers once the spooler has it."""
        if not self._buffer:
            return
        args = [self.command] + (["-d", self.queue] if self.queue else []) + ["-t", "PackBench label", "-"]
        try:
            result = subprocess.run(args, input=bytes(self._buffer), capture_output=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TransportError(N_("the print queue did not take the job ({problem})"), problem=why(exc)) from exc
        finally:
            self._buffer.clear()
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise TransportError(N_("the print queue refused the job: {answer}"),
                                 answer=message[-1] if message else result.returncode)
