"""The web console on the server's HTTP port: a read-only page of the cluster.

`model` turns a `ClusterView` into the page's view model (pure); `auth` makes and checks
login tokens (pure, HMAC keyed from the cluster CA key, so every replica verifies a
token any replica made); `feed` fans the one etcd watch on events out to the browsers;
`web` is the aiohttp application that serves the page, `/healthz` and `/metrics`.
"""
