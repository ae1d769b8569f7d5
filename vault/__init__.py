"""The centre vault: an encrypted, searchable, backed-up document vault.

This package is the core (keys, objects, catalog, audit); ``vault.cli`` is the
command line on top of it.
"""

__version__ = "0.1.0"
