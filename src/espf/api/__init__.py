"""The HTTP API: a thin client of the service layer."""

from espf.api.app import create_app

__all__ = ["create_app"]
