"""gunicorn's settings for the portal, read by `gunicorn portal.wsgi` from the working
directory (the repository's root): only what the command line does not say.

The access log, when turned on (--access-logfile), prints every request line, and the
Graph webhook's path carries the org's secret key: each field of the line goes through
portal.logredact first. Django's own log lines are redacted by settings.LOGGING.
"""

from gunicorn.glogging import Logger

from portal.logredact import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        return {name: redact(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = RedactingLogger
