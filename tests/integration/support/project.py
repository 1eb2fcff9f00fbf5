"""A compose-shaped project made with the docker CLI: networks and containers labelled as
docker compose labels them, several networks and a hub container on two of them.

    front (bridge)            back (bridge, internal)
      web (-p 8080:80)  ----  api (hub: front + back)  ----  db

Used by the events, graph, why and topology-page tests (tether compose is another issue).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Project:
    name: str
    daemon: object

    def net(self, key: str) -> str:
        return f"{self.name}_{key}"

    def ctr(self, service: str) -> str:
        return f"{self.name}-{service}-1"

    def labels(self, service: str) -> list[str]:
        return ["--label", f"com.docker.compose.project={self.name}",
                "--label", f"com.docker.compose.service={service}",
                "--label", "com.docker.compose.container-number=1",
                "--label", "com.docker.compose.oneoff=False"]

    def docker(self, *args: str) -> str:
        r = self.daemon.docker(*args)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout.strip()

    def up(self, web_port: int = 8080) -> "Project":
        for key, extra in (("front", ()), ("back", ("--internal",))):
            self.docker("network", "create", *extra,
                        "--label", f"com.docker.compose.project={self.name}",
                        "--label", f"com.docker.compose.network={key}", self.net(key))
        self.run("db", "back")
        self.run("api", "front", alias="api")
        self.docker("network", "connect", "--alias", "api", self.net("back"), self.ctr("api"))
        self.run("web", "front", "-p", f"{web_port}:80")
        return self

    def run(self, service: str, net: str, *extra: str, alias: str = "") -> str:
        alias = alias or service
        return self.docker("run", "-d", "--name", self.ctr(service), *self.labels(service),
                           "--network", self.net(net), "--network-alias", alias, *extra,
                           "busybox:local", "httpd", "-f", "-p", "80")

    def down(self) -> None:
        for service in ("web", "api", "db"):
            self.daemon.docker("rm", "-f", self.ctr(service))
        for key in ("front", "back"):
            self.daemon.docker("network", "rm", self.net(key))
