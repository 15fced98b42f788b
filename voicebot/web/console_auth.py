"""Who may open the console: the records token, or (with none set) this machine only.

The console shows what callers said and their numbers, so it sits behind the same
token as the records API. A browser signs in once: the page posts the token and gets a
cookie holding an HMAC of it (not the token itself, so a leaked cookie does not open the
records API), HttpOnly and SameSite=Strict. Scripts may send the token as a bearer
header or `?token=` like the records API.

With no token configured the console answers only a browser on this machine (loopback,
and no proxy header: a reverse proxy on the same host would otherwise make every
visitor look local). That keeps `voicebot serve` + http://localhost:8080/console one
step for a developer without opening records to the network.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection

COOKIE = "voicebot_console"
LOOPBACK = frozenset({"127.0.0.1", "::1"})
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"voicebot console session", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def is_local(conn: HTTPConnection) -> bool:
    host = conn.client.host if conn.client is not None else ""
    return host in LOOPBACK and not any(h in conn.headers for h in PROXY_HEADERS)


class ConsoleAuth:
    def __init__(self, token: str | None) -> None:
        self.token = token

    def allows(self, conn: HTTPConnection) -> bool:
        if self.token is None:
            return is_local(conn)
        if _same(conn.cookies.get(COOKIE), session_value(self.token)):
            return True
        scheme, _, credentials = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(credentials.strip(), self.token):
            return True
        return _same(conn.query_params.get("token"), self.token)

    def check_token(self, given: str) -> bool:
        return self.token is not None and _same(given, self.token)

    def require(self, request: Request) -> None:
        """FastAPI dependency for the console's API routes."""
        if self.allows(request):
            return
        if self.token is None:
            raise HTTPException(
                403, "the console answers only this machine until records.token is set "
                "(config.yaml, or VOICEBOT_RECORDS__TOKEN)")
        raise HTTPException(401, "sign in at /console/login, or send the records token",
                            headers={"WWW-Authenticate": "Bearer"})
