"""The ERP's pull API as described by `erp.yaml`: licences changed since a time, page by page.

Checkpoint (a JSON object, stored by the pull after each page in that page's transaction):

    {"style": "page",   "updated_since": S, "page": N,   "page_size": K, "newest": T}
    {"style": "cursor", "updated_since": S, "cursor": C, "page_size": K, "newest": T}

A run asks for everything changed at or after S (null: everything). `page`/`cursor` is where
the next page starts: page style keeps S and counts the page number on (the numbering is
only stable for one filter, so S must not move mid-run); cursor style keeps the ERP's
next cursor. `page_size` is kept so that a resumed run counts pages as the interrupted one
did, even if erp.yaml changed in between. `newest` is the newest change time seen so far in
the run. When a run reaches the end (an empty page, or no next cursor), the checkpoint
becomes the start of the next run: S = `newest` (or the old S if nothing was seen), page
`first_page` / cursor null, `newest` null. So a run resumed from any stored checkpoint fetches
the page after the last one stored, never one already stored, and leaves no gap; a crash
before a page's transaction commits fetches that page again, which is the one not stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from adapter import errors
from adapter.retry import retrying
from adapter.settings import Settings
from connectors.erp.settings import erp_settings
from mappings.erp import MISSING, ErpMapping, ErpPull, changed_at, lookup, parse_instant

logger = logging.getLogger(__name__)

TIMEOUT = (3.05, 30.0)  # connect, read: seconds; a page of a slow ERP query can take a while


class ErpNotConfigured(RuntimeError):
    """ERP_URL or ERP_TOKEN is not set."""


@dataclass(frozen=True)
class ErpPage:
    items: list[Any]  # raw ERP items, as the API gave them
    position_after: dict[str, Any]  # the checkpoint that resumes after this page
    number: int  # 1, 2, ... within this call of `pages`
    last: bool  # the run ends with this page
    params: dict[str, str] = field(default_factory=dict)  # the query sent


class ErpClient:
    """One client per ERP. Each page request is retried on 5xx, 429 (after its Retry-After),
    timeouts and broken connections, a bounded number of times; other 4xx raise at once."""

    def __init__(
        self,
        url: str,
        token: str,
        mapping: ErpMapping | ErpPull,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        attempts: int = 5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.pull = mapping.pull if isinstance(mapping, ErpMapping) else mapping
        self.url = url.rstrip("/") + "/" + self.pull.path.lstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        auth = self.pull.auth
        header = "Authorization" if auth.style == "bearer" else str(auth.header)
        self.session.headers[header] = f"Bearer {token}" if auth.style == "bearer" else token
        self.session.headers["Accept"] = "application/json"
        self._retrying = retrying(attempts=attempts, maximum=max_wait, sleep=sleep)

    @classmethod
    def from_settings(cls, settings: Settings, mapping: ErpMapping, **kwargs: Any) -> ErpClient:
        erp = erp_settings(settings)
        if erp.unset():
            raise ErpNotConfigured(f"{' and '.join(erp.unset())} not set: cannot pull from the ERP")
        return cls(erp.url or "", erp.token or "", mapping, **kwargs)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ErpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, params: Mapping[str, str]) -> Any:
        """One GET of the pull path, with retries; the decoded JSON answer."""
        return self._retrying(self._get_once, params)

    def _get_once(self, params: Mapping[str, str]) -> Any:
        # The one place where this API's failures become adapter.errors types.
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout)
            if response.status_code >= 300:
                raise errors.from_response(response)
            body = response.content  # read here: a reset mid-body raises inside this try
        except errors.ApiError:
            raise
        except requests.RequestException as e:  # a reset mid-body included
            raise errors.from_exception(e) from e
        try:
            return response.json() if body else None
        except ValueError as e:
            raise errors.ApiError(
                f"the answer is not JSON: {body[:80]!r}", status=response.status_code, url=self.url
            ) from e

    def pages(
        self,
        position: Mapping[str, Any] | None = None,
        *,
        updated_since: datetime | None = None,
    ) -> Iterator[ErpPage]:
        """The pages of one run, one at a time. Resumes from `position` (a checkpoint, see the
        module doc); `updated_since` instead starts a new run from that time."""
        state = self._start(position, updated_since)
        paging = self.pull.paging
        previous: tuple[Any, ...] | None = None
        number = 0
        while True:
            params = self._params(state)
            body = self.get(params)
            items = lookup(body, paging.items)
            if not isinstance(items, list):
                where = ".".join(paging.items) or "the answer"
                raise errors.ApiError(f"{where} is not a list of items", url=self.url)
            number += 1
            state["newest"] = _newest(state["newest"], items, self.pull)
            if paging.style == "page":
                # Only an empty page ends the run: a short one may just be the ERP's own cap.
                last = not items
                state["page"] += 1
            else:
                cursor = lookup(body, paging.next_cursor or ())
                last = not items or cursor in (MISSING, None, "")
                if not last and cursor == state["cursor"]:
                    raise errors.ApiError(f"the ERP sent the same cursor again: {cursor!r}")
                state["cursor"] = None if last else cursor
            # An ERP that ignores the page parameter would otherwise be read forever.
            fingerprint = (len(items), _first_key(items, self.pull))
            if items and fingerprint == previous:
                raise errors.ApiError(
                    f"page {number} repeats the previous page: does the ERP honour "
                    f"{paging.page_param or paging.cursor_param}?",
                    url=self.url,
                )
            previous = fingerprint
            if last:
                state = self._completed(state)
            logger.debug(
                "erp.pull.page", extra={"number": number, "items": len(items), "last": last}
            )
            yield ErpPage(items, dict(state), number, last, params)
            if last:
                return

    def _start(
        self, position: Mapping[str, Any] | None, updated_since: datetime | None
    ) -> dict[str, Any]:
        paging = self.pull.paging
        fresh: dict[str, Any] = {
            "style": paging.style,
            "updated_since": None,
            "page_size": paging.page_size,
            "newest": None,
        }
        fresh.update({"page": paging.first_page} if paging.style == "page" else {"cursor": None})
        if updated_since is not None:
            return {**fresh, "updated_since": updated_since.isoformat()}
        if not position:
            return fresh
        since = position.get("updated_since")
        if position.get("style") != paging.style:
            # erp.yaml switched paging styles: the old position means nothing now; the
            # run restarts from its filter time (repeats are harmless, gaps are not).
            logger.warning(
                "erp.pull.checkpoint-style-changed", extra={"checkpoint": dict(position)}
            )
            return {**fresh, "updated_since": since}
        return {**fresh, **position}

    def _completed(self, state: dict[str, Any]) -> dict[str, Any]:
        paging = self.pull.paging
        done = {
            **state,
            "updated_since": state["newest"] or state["updated_since"],
            "page_size": paging.page_size,
            "newest": None,
        }
        done.update({"page": paging.first_page} if paging.style == "page" else {"cursor": None})
        return done

    def _params(self, state: Mapping[str, Any]) -> dict[str, str]:
        paging, since = self.pull.paging, self.pull.updated_since
        params = {paging.size_param: str(state["page_size"])}
        if state["updated_since"]:
            instant = parse_instant(state["updated_since"])
            if instant is None:
                raise ValueError(f"checkpoint updated_since {state['updated_since']!r} is no time")
            params[since.param] = since.render(instant)
        if paging.style == "page":
            params[str(paging.page_param)] = str(state["page"])
        elif state["cursor"] is not None:
            params[str(paging.cursor_param)] = str(state["cursor"])
        return params


def _newest(newest: str | None, items: list[Any], pull: ErpPull) -> str | None:
    best = parse_instant(newest) if newest else None
    for item in items:
        seen = changed_at(item, pull)
        if seen is not None and (best is None or seen > best):
            best = seen
    return best.astimezone(UTC).isoformat() if best else None


def _first_key(items: list[Any], pull: ErpPull) -> Any:
    if not items:
        return None
    first = items[0]
    licence_id = lookup(first, pull.fields["licence_id"].path)
    return (repr(licence_id), repr(lookup(first, pull.changed_at)))
