from dockyard.common.childproc import dying_with_parent


def test_the_binary_is_run_by_setpriv_with_the_signal() -> None:
    argv = dying_with_parent(["etcd", "--name", "m1"], "TERM", "/usr/bin/setpriv")
    assert argv == ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--", "etcd", "--name", "m1"]


def test_without_setpriv_the_argv_is_unchanged() -> None:
    assert dying_with_parent(["etcd"], "KILL", None) == ["etcd"]
