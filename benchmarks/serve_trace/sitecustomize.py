"""Timestamps along the path of a key in ``reader serve``, for ``benchmarks/serve_hops.py``.

``serve_hops.py`` puts this folder first on ``PYTHONPATH`` of the server it starts
(and so of every session process the server starts), with ``READER_SERVE_TRACE``
naming a file.  At start-up each process then wraps a few methods of Textual,
textual-serve and aiohttp (in memory; nothing on disk is changed) to append one line
per event to that file: ``TIME_NS CPU_NS PID EVENT ARGUMENT``, the time from
``time.time_ns()`` (the clock the browser's ``performance.timeOrigin`` is on, so the
browser's and the processes' times can be set side by side) and the CPU time of the
thread that wrote it (``time.thread_time_ns()``: between two events of one thread, the
work done, whatever the machine's load).  Without
``READER_SERVE_TRACE`` it does nothing.

Events, in the order a key meets them:

* ``server_key`` (server): the browser's key reaches the server's relay (``AppService.send_bytes``)
* ``driver_read`` (session): the web driver's input thread reads it from standard input
* ``driver_key``: the driver has parsed it into a ``Key`` event and posts it
* ``app_key`` / ``app_key_end``: the app's handler of the key (``App.on_event``, entered
  twice: priority bindings, then the bindings after the focused widget)
* ``fsync`` / ``fsync_end``: any ``os.fsync`` (the store's journal)
* ``update`` / ``update_end``: the screen's refresh (``Screen._on_timer_update``)
* ``write``: the driver writes a frame to standard output (argument: bytes)
* ``server_frame`` / ``server_sent`` (server): the relay has the frame / has given it
  to the websocket (argument: bytes)
* ``server_pong`` (server): the server answers a ping (the control without the app)
"""

from __future__ import annotations

import os
import time

_PATH = os.environ.get("READER_SERVE_TRACE")


def _install(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    pid = os.getpid()

    def mark(event: str, argument: object = "") -> None:
        os.write(fd, f"{time.time_ns()} {time.thread_time_ns()} {pid} {event} {argument}\n"
                 .encode())

    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        mark("fsync")
        real_fsync(descriptor)
        mark("fsync_end")

    os.fsync = fsync

    if os.environ.get("TEXTUAL_DRIVER"):  # a session's process
        _trace_session(mark)
    else:
        _trace_server(mark)


def _trace_session(mark) -> None:  # noqa: ANN001
    from textual import events
    from textual.app import App
    from textual.drivers import _input_reader_linux, web_driver
    from textual.screen import Screen

    driver = web_driver.WebDriver
    reader = _input_reader_linux.InputReader
    real_iter, real_process, real_write = reader.__iter__, driver.process_message, driver.write

    def read(self):  # noqa: ANN001, ANN202
        for data in real_iter(self):
            if data:
                mark("driver_read", len(data))
            yield data

    def process_message(self, message) -> None:  # noqa: ANN001
        if isinstance(message, events.Key):
            mark("driver_key", message.key)
        real_process(self, message)

    def write(self, data: str) -> None:  # noqa: ANN001
        mark("write", len(data.encode("utf-8")))
        real_write(self, data)

    reader.__iter__, driver.process_message, driver.write = read, process_message, write

    real_on_event = App.on_event

    async def on_event(self, event) -> None:  # noqa: ANN001
        if not isinstance(event, events.Key):
            return await real_on_event(self, event)
        mark("app_key", event.key)
        try:
            return await real_on_event(self, event)
        finally:
            mark("app_key_end", event.key)

    App.on_event = on_event

    real_update = Screen._on_timer_update

    def update(self) -> None:  # noqa: ANN001
        mark("update")
        real_update(self)
        mark("update_end")

    Screen._on_timer_update = update


def _trace_server(mark) -> None:  # noqa: ANN001
    try:
        from aiohttp import web
        from textual_serve.app_service import AppService
    except ImportError:  # not a server (the benchmark's own helpers)
        return
    real_send, real_data = AppService.send_bytes, AppService.on_data

    async def send_bytes(self, data: bytes) -> bool:  # noqa: ANN001
        mark("server_key", len(data))
        return await real_send(self, data)

    async def on_data(self, payload: bytes) -> None:  # noqa: ANN001
        mark("server_frame", len(payload))
        await real_data(self, payload)
        mark("server_sent", len(payload))

    AppService.send_bytes, AppService.on_data = send_bytes, on_data

    real_json = web.WebSocketResponse.send_json

    async def send_json(self, data, *args, **kwargs) -> None:  # noqa: ANN001
        if isinstance(data, list) and data[:1] == ["pong"]:
            mark("server_pong")
        await real_json(self, data, *args, **kwargs)

    web.WebSocketResponse.send_json = send_json


if _PATH:
    _install(_PATH)
