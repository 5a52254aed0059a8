"""Prometheus metrics of `langadapt serve`, read at GET /metrics (text format 0.0.4).

    curl -s http://127.0.0.1:8000/metrics | grep langadapt_

Built on `prometheus-client` with one registry per app, so several servers in one process (tests,
notebooks) never share or clash over counters. Tokens per second is `rate()` of the token
counters; route labels are the app's own paths (anything else counts as "other"), so a scan of
random URLs cannot grow the label set without bound.
"""

from __future__ import annotations

from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ServeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, waiting: Callable[[], float], running: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("langadapt_requests", "HTTP requests by route and status.", ["route", "status"],
                                registry=self.registry)
        self.latency = Histogram("langadapt_request_latency_seconds",
                                 "Time from the request's arrival to its last response byte.", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.prompt_tokens = Counter("langadapt_prompt_tokens", "Prompt tokens of accepted generation requests.",
                                     registry=self.registry)
        self.generated_tokens = Counter("langadapt_generated_tokens", "Tokens generated.", registry=self.registry)
        Gauge("langadapt_queue_length", "Requests waiting to join the running batch.",
              registry=self.registry).set_function(waiting)
        Gauge("langadapt_active_requests", "Requests submitted and not finished (waiting or running).",
              registry=self.registry).set_function(running)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
