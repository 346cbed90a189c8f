"""`entitlements check`: every mapping file the settings point at, validated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adapter.settings import Settings
from mappings import erp, plans, prices, zammad
from mappings.yamlfile import FileError, FileErrors

# file name -> loader that raises FileErrors; later helpdesks and the ERP add theirs here
LOADERS: dict[str, Callable[[Path], Any]] = {
    "plans.yaml": plans.load_policy,
    "zammad.yaml": zammad.load_mapping,
    "erp.yaml": erp.load_erp_mapping,
    "prices.yaml": prices.load_prices,
}


def check_all(settings: Settings) -> Iterator[tuple[str, list[FileError]]]:
    shipped = plans.shipped_path().parent
    for name, load in LOADERS.items():
        path = settings.mapping(name)
        if path is None or not path.exists():
            path = shipped / name
        try:
            load(path)
        except FileErrors as e:
            yield str(path), e.errors
        else:
            yield str(path), []
