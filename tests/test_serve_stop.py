"""``reader serve`` stops without waiting for a session process no browser has taken."""

from __future__ import annotations

import asyncio
import signal
import sys

from textual_serve.download_manager import DownloadManager

from reader.web import ReadySessions, SessionService


class BusyService(SessionService):
    """A session process that is still busy (as one importing the annotator is) and
    would not read its standard input for a minute."""

    async def launch(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(60)",
            stdin=asyncio.subprocess.PIPE)
        assert self._process.stdin is not None
        self._stdin = self._process.stdin


def test_a_session_started_ahead_but_never_taken_is_ended_at_once() -> None:
    async def run() -> int | None:
        ready = ReadySessions(1, lambda: BusyService(download_manager=DownloadManager()))
        ready.fill()
        for _ in range(1000):
            if ready.ready:
                break
            await asyncio.sleep(0.01)
        (service,) = ready.ready
        # Closing its standard input alone left the server waiting for the process.
        await asyncio.wait_for(ready.close(), 20)
        assert service._process is not None
        return service._process.returncode

    assert asyncio.run(run()) == -signal.SIGTERM
