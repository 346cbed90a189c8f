"""`entitlements check`: every mapping file the settings point at, validated: the core's, and
each enabled provider's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from adapter.providers import enabled
from adapter.settings import Settings
from mappings import plans, prices
from mappings.yamlfile import FileError, FileErrors

# file name -> loader that raises FileErrors
CORE_FILES: dict[str, Callable[[Path], object]] = {
    "plans.yaml": plans.load_policy,
    "prices.yaml": prices.load_prices,
}


def check_all(settings: Settings) -> Iterator[tuple[str, list[FileError]]]:
    files = dict(CORE_FILES)
    for provider in enabled(settings):
        if provider.mapping_file and provider.load_mapping:
            files[provider.mapping_file] = provider.load_mapping
    shipped = plans.shipped_path().parent  # the shipped files are in mappings/
    for name, load in files.items():
        path = settings.mapping(name) or shipped / name
        try:
            load(path)
        except FileErrors as e:
            yield str(path), e.errors
        else:
            yield str(path), []
