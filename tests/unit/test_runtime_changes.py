"""`docker import --change` parsing, and Docker's signal names."""

import pytest

from tether.errors import InvalidArgument
from tether.runtime.changes import parse_changes
from tether.runtime.rootfs import DEFAULT_PATH
from tether.runtime.signals import parse_signal


def test_cmd_json_and_shell_forms():
    assert parse_changes(['CMD ["sh"]']).cmd == ("sh",)
    assert parse_changes(["CMD echo hi there"]).cmd == ("/bin/sh", "-c", "echo hi there")
    assert parse_changes(["cmd [not json"]).cmd == ("/bin/sh", "-c", "[not json")


def test_entrypoint_and_last_instruction_wins():
    cfg = parse_changes(['ENTRYPOINT ["/bin/busybox"]', 'CMD ["a"]', 'CMD ["b"]'])
    assert cfg.entrypoint == ("/bin/busybox",)
    assert cfg.cmd == ("b",)
    assert parse_changes([]).entrypoint is None


def test_env_forms_and_default_path():
    assert parse_changes([]).env == (f"PATH={DEFAULT_PATH}",)
    cfg = parse_changes(['ENV A=1 B="two words"', "ENV C the rest", "ENV A=3"])
    assert cfg.env == (f"PATH={DEFAULT_PATH}", "A=3", "B=two words", "C=the rest")
    assert parse_changes(["ENV PATH=/bin"]).env == ("PATH=/bin",)


def test_expose_workdir_label_user():
    cfg = parse_changes(["EXPOSE 80 53/udp 8000-8001", "EXPOSE 80",
                         "WORKDIR /srv", "WORKDIR app", 'LABEL a=b "c d"=e', "USER nobody"])
    assert cfg.exposed_ports == ("80/tcp", "53/udp", "8000/tcp", "8001/tcp")
    assert cfg.working_dir == "/srv/app"
    assert cfg.labels == {"a": "b", "c d": "e"}
    assert cfg.user == "nobody"


def test_several_lines_in_one_change_and_ignored_ones():
    cfg = parse_changes(['CMD ["x"]\nUSER 1000', "VOLUME /data", "STOPSIGNAL SIGINT"])
    assert (cfg.cmd, cfg.user) == (("x",), "1000")


@pytest.mark.parametrize("change", ["RUN echo no", "ADD a b", "EXPOSE http", "ENV =x",
                                    "ENV LONE", 'LABEL a="unclosed'])
def test_invalid_changes(change):
    with pytest.raises(InvalidArgument):
        parse_changes([change])


@pytest.mark.parametrize("name,number", [("SIGTERM", 15), ("TERM", 15), ("kill", 9),
                                         ("9", 9), (2, 2), ("SIGUSR1", 10)])
def test_signals(name, number):
    assert parse_signal(name) == number


@pytest.mark.parametrize("name", ["NOPE", "0", "999", ""])
def test_bad_signals(name):
    with pytest.raises(InvalidArgument):
        parse_signal(name)
