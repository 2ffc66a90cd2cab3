"""Turn on etcd's authentication for the embedded etcd, once, over its client TLS.

etcd with `--client-cert-auth` maps a client certificate's common name to an etcd user.
Before auth is on, any client the TLS layer admits may do anything, so the server turns
it on at its first start, right after etcd starts and before anything else connects:

- `root` (role `root`, which etcd requires before auth can be enabled), with a random
  password kept in DATA_DIR/etcd-tls/root-password (0600) for an operator's repairs;
- role `dockyard`: read and write on `/dockyard/` only;
- user `dockyard`, without a password: only the client certificate with that common
  name (which only the server holds) acts as it.

Each step tolerates "already exists", so a start that died midway finishes the job on
the next one; when auth is already on, `UserList` is refused to `dockyard`, and nothing
is done.
"""

from __future__ import annotations

import logging

import grpc
from aetcd import rpc

from dockyard.controlplane.store import keys
from dockyard.controlplane.store.client import Client
from dockyard.controlplane.store.etcd import StoreUnavailable, prefix_end

log = logging.getLogger(__name__)

ROLE = "dockyard"


async def enable_auth(client: Client, *, user: str, root_password: str,
                      timeout_s: float = 5.0) -> bool:
    """Make sure etcd authentication is on with `user` limited to /dockyard/.
    True when it was turned on now."""
    await client.connect()
    stub = rpc.AuthStub(client.channel)
    try:
        await stub.UserList(rpc.AuthUserListRequest(), timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
            return False  # auth is on: only root may list users
        raise StoreUnavailable(f"etcd auth: {exc.details()}") from None
    steps = [
        (stub.RoleAdd, rpc.AuthRoleAddRequest(name="root")),
        (stub.UserAdd, rpc.AuthUserAddRequest(name="root", password=root_password)),
        (stub.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="root", role="root")),
        (stub.RoleAdd, rpc.AuthRoleAddRequest(name=ROLE)),
        (stub.RoleGrantPermission, rpc.AuthRoleGrantPermissionRequest(
            name=ROLE, perm=rpc.Permission(permType=rpc.Permission.READWRITE,
                                           key=keys.ROOT.encode(),
                                           range_end=prefix_end(keys.ROOT).encode()))),
        (stub.UserAdd, rpc.AuthUserAddRequest(
            name=user, options=rpc.UserAddOptions(no_password=True))),
        (stub.UserGrantRole, rpc.AuthUserGrantRoleRequest(user=user, role=ROLE)),
        (stub.AuthEnable, rpc.AuthEnableRequest()),
    ]
    for call, request in steps:
        try:
            await call(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            if "already exists" in (exc.details() or "") or \
                    "already granted" in (exc.details() or ""):
                continue
            raise StoreUnavailable(f"etcd auth: {exc.details()}") from None
    log.info("turned on etcd authentication: user %s may use %s only", user, keys.ROOT)
    return True
