"""Every table of the store on one ``MetaData``: ``schema.py`` plus each ``schema_*.py`` module.

Other store modules (exclusion lists, complaints) define their tables on ``schema.metadata`` in a
``schema_<name>.py`` module; importing this module loads them all (Alembic's ``target_metadata``).
"""

from __future__ import annotations

import importlib
import pkgutil

from . import __path__ as _package_path
from .schema import metadata

for _module in pkgutil.iter_modules(_package_path):
    if _module.name.startswith("schema_"):
        importlib.import_module(f"{__package__}.{_module.name}")

__all__ = ["metadata"]
