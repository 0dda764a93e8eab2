"""The reference server's routes, one module per feature, each with `setup(app)` that `create_app` calls.

    status   GET /api/dev/status (core)
    dev      GET /api/dev/tmux/status, GET /api/dev/workers (dev)
    metrics  GET /api/dev/metrics (metrics)
    history  GET /api/dev/status/history, GET /api/dev/events, the sampler (history)
    live     GET /api/dev/status/ws, the WebSocket push (live; engine: server/push.py)
    control  POST/DELETE /api/dev/tmux/sessions[/{name}], GET .../panes/{index}/capture (dev; engine:
             server/tmux_control.py)
    snapshot GET /api/dev/workers/{id}/snapshot, streamed and rate limited (dev; engine:
             server/worker_snapshot.py)
    alerts   GET /api/dev/alerts, the webhook deliveries (history; engine: server/alerts.py)
    dashboard  GET /, GET /dashboard/{name}: the page and its files (package data in server/static/)

A new feature (push, metrics, history, dev controls) adds its module here and one line in `app.FEATURES`.
"""
