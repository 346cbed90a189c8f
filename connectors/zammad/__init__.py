"""Zammad connector: REST write-back client and the in-process Zammad stand-in."""
