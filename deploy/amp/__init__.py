"""Images for the Apache + PHP + MariaDB example, built from Debian's packages.

`build` makes one Debian rootfs with debootstrap (cached), imports it as `amp-base` on
a testbed engine, builds the three tier images on top (`files/db`, `files/php`,
`files/web`), and pushes them to the testbed registry.
"""
