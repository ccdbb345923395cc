"""Methods. Each module registers itself with `@register_method`; importing this package loads them all."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
