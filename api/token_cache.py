"""Who holds a bearer token, remembered for a few seconds so a busy client does not cost a database lookup per
request. Kept apart from `api.auth` (which says who may do what) so the two change independently.

Only live tokens are remembered, never an unknown one (a token just issued works at once), and each for at
most `TOKEN_CACHE_SECONDS`: a revoked token stops working within that time in every API process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import User, hash_token, user_for_token

TOKEN_CACHE_SECONDS = 5.0
MAX_TOKENS = 10_000


class TokenCache:
    """Users by the sha256 of their token, each for `seconds` after it was read from the database."""

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        *,
        max_tokens: int = MAX_TOKENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_tokens = max_tokens
        self._clock = clock
        self._users: OrderedDict[str, tuple[User, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> User | None:
        key = hash_token(token)
        with self._lock:
            found = self._users.get(key)
            if found is None:
                return None
            user, read_at = found
            if self._clock() - read_at >= self.seconds:
                del self._users[key]
                return None
            return user

    def put(self, token: str, user: User) -> None:
        with self._lock:
            self._users[hash_token(token)] = (user, self._clock())
            self._users.move_to_end(hash_token(token))
            while len(self._users) > self.max_tokens:
                self._users.popitem(last=False)


async def user_holding(cache: TokenCache, session: Session, token: str) -> User | None:
    """The token's holder: from the cache, else looked up in `session` (whose transaction the route's audit
    row then joins) and remembered if the token is live."""
    user = cache.get(token)
    if user is not None:
        return user
    user = await run_in_threadpool(user_for_token, session, token)
    if user is not None:
        cache.put(token, user)
    return user
