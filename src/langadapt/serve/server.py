"""Run the API under uvicorn: `langadapt serve MODEL [--port 8000] [--api-key KEY]`.

`serve_in_thread` starts the same server on a background thread (tests, notebooks, the web UI).
"""

from __future__ import annotations

import socket
import threading
import time

from langadapt.config.generation import GenerationConfig
from langadapt.errors import UserError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _server(app, host: str, port: int, log_level: str):
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve(engine, model_names: list[str], host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          defaults: GenerationConfig | None = None, log_level: str = "info", limits=None) -> None:
    """Serve until interrupted."""
    from langadapt.serve.api import create_app  # deferred: pulls fastapi, torch and transformers

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror} (pick another --port)") from None
    app = create_app(engine, model_names, defaults, api_key, limits=limits, host=host)
    print(f"langadapt serve: {', '.join(model_names)} on http://{host}:{port}/v1 "
          f"(OpenAI-compatible; batch up to {engine.max_batch_size})", flush=True)
    _server(app, host, port, log_level).run()


class ThreadedServer:
    def __init__(self, server, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning",
                    timeout: float = 30.0) -> ThreadedServer:
    port = port or free_port(host)
    server = _server(app, host, port, log_level)
    server.install_signal_handlers = lambda: None  # signals belong to the main thread
    thread = threading.Thread(target=server.run, name="langadapt-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.02)
    return ThreadedServer(server, thread, f"http://{host}:{port}")
