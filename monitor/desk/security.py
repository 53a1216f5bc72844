"""Who may read and write the desk: a token, a signed session cookie, CSRF tokens, strict headers.

- On loopback, pages and reads are open; elsewhere every desk route needs the token.
- Every write (API or form) needs the token: ``Authorization: Bearer <token>``, or the session
  cookie a login form sets plus the form's CSRF token (or ``X-CSRF-Token``).
- Every response carries a Content-Security-Policy without inline script or style.

``/healthz``, ``/readyz`` and ``/metrics`` stay open for probes and scrapers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/login", "/static/desk.css"})
SESSION_COOKIE = "tm_session"
CSRF_FIELD = "csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as in ``http.listen``) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """Decides each request from the token (``None``: no writes at all) and the listen address."""

    def __init__(self, token: str | None, *, loopback: bool) -> None:
        self.token = token
        self.reads_open = loopback

    def _sign(self, purpose: str, nonce: str) -> str:
        assert self.token is not None
        return hmac.new(
            self.token.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256
        ).hexdigest()

    def new_session(self) -> str:
        """A cookie value ``nonce.signature``."""
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign('session', nonce)}"

    def session_nonce(self, request: web.Request) -> str | None:
        """The nonce of a valid session cookie, if the request carries one."""
        cookie = request.cookies.get(SESSION_COOKIE, "")
        nonce, _, signature = cookie.partition(".")
        if self.token is None or not nonce or not signature:
            return None
        return nonce if hmac.compare_digest(signature, self._sign("session", nonce)) else None

    def csrf_token(self, request: web.Request) -> str:
        """The CSRF token forms of this session carry ("" without a session)."""
        nonce = self.session_nonce(request)
        return self._sign("csrf", nonce) if nonce else ""

    def bearer_ok(self, request: web.Request) -> bool:
        """Whether the request carries ``Authorization: Bearer <token>``."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return (
            self.token is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), self.token.encode())
        )

    def login_ok(self, given: str) -> bool:
        """Whether a login form's token is the token."""
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    async def may_write(self, request: web.Request) -> bool:
        """Token, or a session plus its CSRF token (form field or header)."""
        if self.bearer_ok(request):
            return True
        expected = self.csrf_token(request)
        if not expected:
            return False
        given = request.headers.get("X-CSRF-Token", "")
        if not given and request.content_type == "application/x-www-form-urlencoded":
            given = str((await request.post()).get(CSRF_FIELD, ""))
        return bool(given) and hmac.compare_digest(given, expected)

    def may_read(self, request: web.Request) -> bool:
        """Open on loopback; elsewhere the token or a session."""
        return self.reads_open or self.bearer_ok(request) or self.session_nonce(request) is not None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(guard: Guard) -> Middleware:
    """aiohttp middleware: refuse what the guard refuses; add the security headers to all."""

    @web.middleware
    async def guard_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await _guarded(guard, request, handler)
        except web.HTTPException as exc:
            exc.headers.update(_HEADERS)
            raise
        response.headers.update(_HEADERS)
        return response

    return guard_request


async def _guarded(guard: Guard, request: web.Request, handler: Handler) -> web.StreamResponse:
    api = request.path.startswith("/api/")
    if request.path in OPEN_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    if not guard.may_read(request):
        if api or request.method not in _SAFE:
            raise web.HTTPUnauthorized(text="token required")
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
    if request.method not in _SAFE and not await guard.may_write(request):
        why = (
            "writes need the token (http.token_env)"
            if guard.token
            else "writes are off: set http.token_env"
        )
        raise web.HTTPForbidden(text=why)
    return await handler(request)
