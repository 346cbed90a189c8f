"""The one place where outside HTTP failures become typed exceptions.

Retriable: 429 (with its Retry-After), 5xx, timeouts and connection errors. Everything else
(other 4xx) is final: retrying cannot make a rejected request acceptable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests


class ApiError(Exception):
    retriable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.retry_after = retry_after

    def __str__(self) -> str:
        status = f"HTTP {self.status} " if self.status else ""
        return f"{status}{super().__str__()}"


class ApiUnauthorized(ApiError):
    """401/403: the token is wrong or lacks a permission."""


class TicketNotReadable(ApiUnauthorized):
    """The helpdesk refuses the adapter a ticket (403): one outside the groups it may read."""


class ApiNotFound(ApiError):
    """404."""


class ApiRejected(ApiError):
    """Another 4xx, e.g. Zammad's 422 for an unknown attribute."""


class ApiRateLimited(ApiError):
    retriable = True


class ApiServerError(ApiError):
    retriable = True


class ApiTimeout(ApiError):
    retriable = True


class ApiConnectionError(ApiError):
    retriable = True


def from_response(response: requests.Response) -> ApiError:
    status = response.status_code
    message = _message(response)
    kwargs = {"status": status, "url": response.url}
    if status in (401, 403):
        return ApiUnauthorized(message, **kwargs)
    if status == 404:
        return ApiNotFound(message, **kwargs)
    if status == 429:
        return ApiRateLimited(message, retry_after=retry_after(response), **kwargs)
    if status >= 500:
        return ApiServerError(message, retry_after=retry_after(response), **kwargs)
    return ApiRejected(message, **kwargs)


def from_exception(exc: requests.RequestException) -> ApiError:
    url = exc.request.url if exc.request is not None else None
    if isinstance(exc, requests.Timeout):
        return ApiTimeout(f"timed out: {exc.__class__.__name__}", url=url)
    # A reset in the middle of a body surfaces as a broken chunked encoding: still a reset.
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return ApiConnectionError(f"connection failed: {exc.__class__.__name__}", url=url)
    return ApiError(f"request failed: {exc.__class__.__name__}", url=url)


def retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def _message(response: requests.Response) -> str:
    """Zammad and most APIs put the reason in `error`/`error_human`; keep it short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or ""
    if isinstance(body, dict):
        return str(body.get("error_human") or body.get("error") or body.get("message") or body)[
            :200
        ]
    return str(body)[:200]
