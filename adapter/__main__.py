"""`python -m adapter` is `entitlements`."""

from adapter.cli import main

main(prog_name="entitlements")
