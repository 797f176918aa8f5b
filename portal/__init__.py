"""The Django project (settings, URLs, Celery app) and tenancy: organisations,
memberships, people, partner delegation, invitations and the audit log."""

from .celery import app as celery_app

__all__ = ["celery_app"]
