"""``reader serve``'s sessions run our web driver, and with it an app starts focused
(Textual's stock web driver starts it blurred, and the page's "focus" comes before its
websocket is open, so the first key used to refocus and redraw the whole screen)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from textual.drivers.web_driver import WebDriver
from textual_serve.download_manager import DownloadManager

from reader.web import SESSION_DRIVER, SessionService
from reader.web_driver import SessionDriver

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from textual.app import App

class Probe(App):
    def on_ready(self) -> None:
        self.set_timer(0.1, self.done)

    def done(self) -> None:
        with open(sys.argv[1], "w") as out:
            out.write(str(self.app_focus))
        self.exit()

Probe().run()
"""


def test_a_session_process_is_given_our_driver() -> None:
    environment = SessionService(download_manager=DownloadManager())._build_environment()
    module, _, name = environment["TEXTUAL_DRIVER"].partition(":")
    assert environment["TEXTUAL_DRIVER"] == SESSION_DRIVER
    assert getattr(importlib.import_module(module), name) is SessionDriver
    assert issubclass(SessionDriver, WebDriver)


def test_an_app_run_by_the_session_driver_starts_focused(tmp_path: Path) -> None:
    result = tmp_path / "focus"
    env = {**os.environ, "TEXTUAL_DRIVER": SESSION_DRIVER,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.run([sys.executable, "-c", PROBE, str(result)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, timeout=30)
    assert process.returncode == 0, process.stderr.decode(errors="replace")
    assert result.read_text() == "True"
