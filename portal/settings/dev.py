"""Developer settings: the base defaults, nothing more. Used by manage.py and `make run`."""

from .base import *  # noqa: F403
