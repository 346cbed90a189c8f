"""The Zammad stand-in: an in-process Zammad for the tests, the benchmarks and `entitlements
demo` (see standin.py). Not part of the product's connector, which talks to a real Zammad."""

from standins.zammad.refusal import ZammadRefusal
from standins.zammad.sender import Delivery
from standins.zammad.server import RequestRecord
from standins.zammad.standin import ZammadStandin
from standins.zammad.values import ruby_json

__all__ = ["Delivery", "RequestRecord", "ZammadRefusal", "ZammadStandin", "ruby_json"]
