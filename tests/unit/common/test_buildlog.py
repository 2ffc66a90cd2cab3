"""The engine's build and push streams, read into the lines and the one-line failure a
user sees, the same whichever engine built."""

from __future__ import annotations

from dockyard.common.buildlog import BuildProgress, PushProgress, one_line


def test_a_failing_run_step_is_named_with_the_engines_words() -> None:
    progress = BuildProgress()
    shown = []
    for item in [
        {"stream": "Step 1/3 : FROM busybox\n"},
        {"stream": " ---> 1a2b3c\n"},
        {"stream": "Step 2/3 : RUN make all\n"},
        {"stream": " ---> Running in 9f8e\n"},
        {"stream": "make: *** No rule to make target 'all'.  Stop.\n"},
        {"errorDetail": {"code": 2, "message": "The command '/bin/sh -c make all' returned "
                         "a non-zero code: 2"},
         "error": "The command '/bin/sh -c make all' returned a non-zero code: 2"},
    ]:
        shown += progress.feed(item)
    assert shown[0] == "Step 1/3 : FROM busybox"
    assert progress.failure() == ("step 2/3 (RUN make all): The command '/bin/sh -c make all' "
                                  "returned a non-zero code: 2")


def test_a_successful_build_gives_its_image() -> None:
    progress = BuildProgress()
    progress.feed({"stream": "Step 1/1 : FROM busybox\n"})
    progress.feed({"aux": {"ID": "sha256:abc"}})
    progress.feed({"stream": "Successfully built abc\n"})
    assert progress.image_id == "sha256:abc"
    assert not progress.error


def test_push_counts_layers_and_keeps_the_digest() -> None:
    push = PushProgress()
    lines = [push.feed(item) for item in [
        {"status": "The push refers to repository [10.0.0.1:5000/shop/web]"},
        {"status": "Preparing", "id": "aaa111"},
        {"status": "Preparing", "id": "bbb222"},
        {"status": "Pushed", "id": "aaa111"},
        {"status": "Layer already exists", "id": "bbb222"},
        {"status": "abc: digest: sha256:ff size: 527"},
        {"aux": {"Tag": "abc", "Digest": "sha256:ff", "Size": 527}},
    ]]
    assert [x for x in lines if x] == ["pushed 1/2 layers", "pushed 2/2 layers"]
    assert push.digest == "sha256:ff"


def test_an_unreachable_registry_is_one_line() -> None:
    push = PushProgress()
    push.feed({"status": "Preparing", "id": "aaa111"})
    push.feed({"errorDetail": {"message": "Get \"http://10.0.0.9:5000/v2/\": dial tcp "
                               "10.0.0.9:5000: connect: connection refused"},
               "error": "Get \"http://10.0.0.9:5000/v2/\": dial tcp 10.0.0.9:5000:\n"
                        "connect: connection refused"})
    assert "connection refused" in push.error
    assert "\n" not in push.error
    assert not push.digest


def test_one_line_folds_and_cuts() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert len(one_line("x" * 1000)) == 300
