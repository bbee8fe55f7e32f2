"""The hot path: the pure-ASGI reverse proxy (:mod:`~monitor.proxy.app`), HTTP semantics of its
headers and labels (:mod:`~monitor.proxy.routes`), the upstream clients
(:mod:`~monitor.proxy.upstream`) and the sampling hand-off to the analysis worker
(:mod:`~monitor.proxy.sampler`)."""
