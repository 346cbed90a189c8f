"""The WSGI entry point for production web servers:

    gunicorn --workers 2 --threads 4 --bind 0.0.0.0:8080 adapter.wsgi:app

Settings come from the environment, as for every command. Run `entitlements worker` beside it
(one or more, against PostgreSQL): the web tier only accepts and stores. Our loggers write JSON
lines to stderr; gunicorn's own logs (`gunicorn.error`, and `gunicorn.access` when
`--access-logfile` is given) keep gunicorn's handlers and format. With several gunicorn
workers, set `PROMETHEUS_MULTIPROC_DIR` so that `/metrics` adds up their counters.
"""

from adapter.app import create_app
from adapter.logs import configure_logging
from mappings.settings import load_settings

settings = load_settings()
configure_logging(settings.log_level)  # before the app exists: Flask then adds no handler
app = create_app(settings)
