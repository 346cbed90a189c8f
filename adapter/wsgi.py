"""The WSGI entry point for production web servers:

    gunicorn --workers 2 --threads 4 --bind 0.0.0.0:8080 adapter.wsgi:app

Settings come from the environment, as for every command. Run `entitlements worker` beside it
(one or more, against PostgreSQL): the web tier only accepts and stores.
"""

from adapter.app import create_app

app = create_app()
