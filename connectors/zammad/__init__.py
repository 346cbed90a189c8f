"""Zammad connector: the REST client, write-back, setup and reconcile. (The Zammad stand-in
the tests and `entitlements demo` run against is a test tool in standins/zammad/.)"""
