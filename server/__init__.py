"""The reference central server (docs/architecture.md §11): FastAPI on peewee, SQLite or PostgreSQL.

    app.py            create_app(config) -> FastAPI: routes, /healthz, /p/{token}, /openapi.json
    api.py            the signed station API under /api/v1 (enroll is the one unsigned call)
    hooks.py          carrier webhooks: Kuaidi100 push callback, generic HMAC-signed JSON
    services.py       what handlers share; the signature dependency; warehouse scoping
    auth.py           enrollment tokens, stations, request signatures, nonces
    events.py         outbox pushes applied at most once, in seq order
    projections.py    what each station event changes: parcels, order status, metrics
    pulls.py          orders / products / tracking since a cursor
    tracking.py       carrier events: parse, map states, store append-only, publish
    intake.py         order and product import with the station's profiles
    waybills.py       per-carrier number pools and allocation
    rules.py          versioned rule sets
    reports.py        reconciliation and metrics
    passport_page.py  the public passport page
    db.py, migrations.py, models.py, config.py, schemas.py, cli.py

`server` imports only `app` and `protocol`; never Qt, drivers or the station's sync client.
"""
