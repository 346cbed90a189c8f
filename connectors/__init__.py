"""Outside systems, one package per system (`zammad/`, `erp/`), each declaring its provider
(`provider.py`) for `adapter.providers`."""
