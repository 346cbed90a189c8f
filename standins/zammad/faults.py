"""Fault injection: the next requests that match a method and a path are delayed, reset, or
answered with an error status, as a failing Zammad or a proxy in front of it would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

from standins.zammad.api import Reply, json_reply


@dataclass
class Fault:
    method: str | None
    pattern: re.Pattern[str]
    status: int | None
    times: int
    retry_after: str | None
    delay: float
    reset: bool

    def describe(self) -> str:
        if self.reset:
            return "reset"
        if self.status is not None:
            return f"status {self.status}"
        return f"delay {self.delay}"


class Faults:
    """Faults injected per request."""

    def inject_fault(
        self,
        method: str | None,
        path_regex: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | str | None = None,
        delay: float = 0.0,
        reset: bool = False,
    ) -> None:
        """The next ``times`` requests whose method matches (None or "*": any) and whose path
        (without query) matches ``path_regex`` (re.search) sleep ``delay`` seconds, then
        either reset the connection, answer ``status`` (with Zammad's error body and
        ``Retry-After`` if given), or, with only a delay, are served normally."""
        if status is None and not reset and delay <= 0:
            raise ValueError("a fault needs a status, a delay or reset=True")
        if status is not None and reset:
            raise ValueError("a fault either answers a status or resets, not both")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(
            method=None if method in (None, "*") else method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            times=times,
            retry_after=None if retry_after is None else str(retry_after),
            delay=delay,
            reset=reset,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method not in (None, method.upper()) or not fault.pattern.search(path):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None


def error_reply(status: int, retry_after: str | None) -> Reply:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    return json_reply(status, {"error": phrase, "error_human": phrase}, headers)
