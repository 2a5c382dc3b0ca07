"""The Content-Security-Policy (django-csp; the directives are in settings): scripts, styles and
everything else from this site only — no inline script, no inline style, no eval — plus this
site's own WebSocket origin for the live inbox."""

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:  # fmt: skip
        parts = super().get_policy_parts(request, response, report_only)
        # CSP 3 lets 'self' cover ws:/wss: of the same host, but older browsers (Safari before
        # 15.4) don't: name the socket's origin. get_host() is checked against ALLOWED_HOSTS.
        try:
            socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
        except DisallowedHost:
            return parts
        parts.update = {**(parts.update or {}),
                        "connect-src": [*(parts.update or {}).get("connect-src", []),
                                        socket_origin]}  # fmt: skip
        return parts
