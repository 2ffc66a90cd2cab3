"""The Control rpcs that hand out credentials: the agents' join token and console
login tokens.

Both answer with a secret, so they are kept small and together, away from the rpcs
that only read or write desired state (docs/security.md says who may call them).
"""

from __future__ import annotations

import secrets
import time

import grpc

from dockyard.controlplane.api.base import ControlBase, refuse
from dockyard.controlplane.console import auth as console_auth
from dockyard.v1 import control_pb2


class Tokens(ControlBase):
    """JoinToken and ConsoleToken (see control.proto)."""

    async def JoinToken(
        self, request: control_pb2.JoinTokenRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.JoinTokenResponse:
        if request.role not in ("", "agent"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"no join token for role {request.role!r} (try: agent)")
        if self._tokens is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server has no join token")
            raise AssertionError("unreachable")
        if request.rotate:
            token = await self._guard(context, self._tokens.rotate())
        else:
            token = self._tokens.token
        return control_pb2.JoinTokenResponse(token=token)

    async def ConsoleToken(
        self, request: control_pb2.ConsoleTokenRequest, context: grpc.aio.ServicerContext
    ) -> control_pb2.ConsoleTokenResponse:
        ttl_s = int(request.ttl_s) or console_auth.DEFAULT_TTL_S
        await refuse(context, console_auth.ttl_problem(ttl_s))
        if self._console is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server has no console")
            raise AssertionError("unreachable")
        now_s = int(time.time())
        token = console_auth.make_token(self._console.key, now_s=now_s, ttl_s=ttl_s,
                                        nonce=secrets.token_hex(8))
        return control_pb2.ConsoleTokenResponse(
            token=token, expires_s=now_s + ttl_s, http_listen=self._console.http_listen,
            https=self._console.https)
