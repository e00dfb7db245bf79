"""espf: External System Provisioning Framework."""

__version__ = "0.1.0"
