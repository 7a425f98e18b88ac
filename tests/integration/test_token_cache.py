"""The API remembers who holds a token for a few seconds, and no longer: revocation takes effect within them."""

from pathlib import Path

from api.auth import issue_token, revoke_tokens
from api.token_cache import TokenCache, user_holding
from core.database import make_engine, session_factory
from store.directory import load_directory
from store.migrate import upgrade

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_revoked_token_is_refused_once_the_cache_seconds_have_passed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'mappa.db'}")
    upgrade(engine)
    load_directory(engine, DIRECTORY)  # a token is issued only to an agency in the MAPPA directory
    sessions = session_factory(engine)
    with sessions.begin() as session:
        token = issue_token(
            session,
            user_name="PC Example",
            agency_id="wiltshire-police",
            role="agency-worker",
            area="wiltshire-and-swindon",
        )
    clock = Clock()
    cache = TokenCache(5.0, clock=clock)

    with sessions() as session:
        holder = await user_holding(cache, session, token)
    assert holder is not None and holder.user_name == "PC Example"
    with sessions.begin() as session:
        assert revoke_tokens(session, user_name="PC Example") == 1

    clock.now += 4.9
    with sessions() as session:
        assert await user_holding(cache, session, token) == holder  # still remembered
    clock.now += 0.1
    with sessions() as session:
        assert await user_holding(cache, session, token) is None
    engine.dispose()


async def test_an_unknown_token_is_not_remembered_so_one_issued_next_works_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'mappa.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    cache = TokenCache(5.0, clock=Clock())
    with sessions() as session:
        assert await user_holding(cache, session, "mappa_not-issued") is None
        assert cache.get("mappa_not-issued") is None
    engine.dispose()


def test_the_cache_keeps_at_most_max_tokens() -> None:
    from api.auth import User
    from store.models import TokenRole

    cache = TokenCache(5.0, max_tokens=2, clock=Clock())
    users = [User(n, f"user {n}", "wiltshire-police", TokenRole.AGENCY_WORKER, None) for n in range(3)]
    for n, user in enumerate(users):
        cache.put(f"token-{n}", user)
    assert [cache.get(f"token-{n}") for n in range(3)] == [None, users[1], users[2]]
