"""The admin CLI, ``espf`` or ``evctl``: one module per object, as in ``api/``
and ``service/``; ``main`` is the root command the console scripts run."""

from espf.cli.main import main

__all__ = ["main"]
