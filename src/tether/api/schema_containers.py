"""`POST /containers/create` and `/exec` bodies -> ContainerSpec / ExecSpec. Pure.

CLI 28 sends the whole Config + HostConfig struct; only the fields tether acts on are read,
the rest (resources, cgroups) is ignored as a 1.41 dockerd ignores unknown fields. Mounts are
schema_mounts.py's.
"""

from __future__ import annotations

from typing import Any

from tether.api.jsonbody import get_bool, get_int, get_obj, get_str, get_str_list, get_str_map
from tether.api.schema_mounts import parse_mounts
from tether.api.schema_networks import get_mac, parse_endpoint_config
from tether.engine.names import validate_container_name
from tether.errors import InvalidArgument
from tether.model import ContainerSpec, ExecSpec, PortBinding


def parse_port_key(key: str) -> tuple[int, str]:
    """"80/tcp" -> (80, "tcp"); a bare port is tcp."""
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid port specification: {key!r}")
    return int(port), proto


def normalise_port(key: str) -> str:
    port, proto = parse_port_key(key)
    return f"{port}/{proto}"


def parse_port_bindings(raw: dict[str, Any]) -> tuple[PortBinding, ...]:
    """HostConfig.PortBindings {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}."""
    out: list[PortBinding] = []
    for key, bindings in raw.items():
        port, proto = parse_port_key(key)
        for binding in bindings or [{}]:
            if not isinstance(binding, dict):
                raise InvalidArgument(f"invalid port binding for {key}")
            first, end = _host_ports(key, get_str(binding, "HostPort"))
            out.append(PortBinding(container_port=port, proto=proto,
                                   host_ip=get_str(binding, "HostIp"),
                                   host_port=first, host_port_end=end))
    return tuple(out)


def _host_ports(key: str, text: str) -> tuple[int, int]:
    """HostPort "", "8080" or "8000-8010" as (first, end); end 0 for a single port."""
    first, dash, end = text.partition("-")
    nums = [first, end] if dash else [first]
    if text and not all(n.isdigit() and 0 < int(n) < 65536 for n in nums):
        raise InvalidArgument(f"invalid host port for {key}: {text!r}")
    if dash and int(end) < int(first):
        raise InvalidArgument(f"invalid port range for {key}: {text!r}")
    return int(first or 0), int(end) if dash else 0


def _entrypoint(body: dict[str, Any]) -> tuple[str, ...] | None:
    return None if body.get("Entrypoint") is None else get_str_list(body, "Entrypoint")


def _endpoints(body: dict[str, Any]) -> dict[str, Any]:
    raw = get_obj(get_obj(body, "NetworkingConfig"), "EndpointsConfig")
    out = {}
    for name, cfg in raw.items():
        if cfg is not None and not isinstance(cfg, dict):
            raise InvalidArgument(f"EndpointsConfig[{name}] must be a JSON object")
        out[name] = parse_endpoint_config(cfg or {})
    return out


def parse_container_create(body: dict[str, Any], name: str) -> ContainerSpec:
    """Turn a create body plus the `?name=` query into a ContainerSpec."""
    if name:
        name = validate_container_name(name)
    image = get_str(body, "Image")
    if not image:
        raise InvalidArgument("No image specified: the request must include an Image")
    host = get_obj(body, "HostConfig")
    return ContainerSpec(
        image=image, name=name,
        cmd=get_str_list(body, "Cmd"), entrypoint=_entrypoint(body),
        env=get_str_list(body, "Env"), hostname=get_str(body, "Hostname"),
        domainname=get_str(body, "Domainname"), user=get_str(body, "User"),
        working_dir=get_str(body, "WorkingDir"), tty=get_bool(body, "Tty"),
        open_stdin=get_bool(body, "OpenStdin"), stdin_once=get_bool(body, "StdinOnce"),
        attach_stdin=get_bool(body, "AttachStdin"), attach_stdout=get_bool(body, "AttachStdout"),
        attach_stderr=get_bool(body, "AttachStderr"),
        labels=get_str_map(body, "Labels"),
        exposed_ports=tuple(normalise_port(k) for k in get_obj(body, "ExposedPorts")),
        network_mode=get_str(host, "NetworkMode") or "default",
        endpoints=_endpoints(body),
        mac_address=get_mac(body, "MacAddress"),
        links=get_str_list(host, "Links"), extra_hosts=get_str_list(host, "ExtraHosts"),
        dns=get_str_list(host, "Dns"), dns_search=get_str_list(host, "DnsSearch"),
        dns_options=get_str_list(host, "DnsOptions"),
        port_bindings=parse_port_bindings(get_obj(host, "PortBindings")),
        publish_all_ports=get_bool(host, "PublishAllPorts"),
        auto_remove=get_bool(host, "AutoRemove"),
        stop_signal=get_str(body, "StopSignal"), stop_timeout=get_int(body, "StopTimeout"),
        privileged=get_bool(host, "Privileged"), cap_add=get_str_list(host, "CapAdd"),
        mounts=parse_mounts(body, host),
        binds=get_str_list(host, "Binds") if host.get("Binds") is not None else None,
        tmpfs=get_str_map(host, "Tmpfs"),
    )


def parse_exec_create(body: dict[str, Any]) -> ExecSpec:
    """A `POST /containers/{id}/exec` body; Cmd is required."""
    cmd = get_str_list(body, "Cmd")
    if not cmd:
        raise InvalidArgument("No exec command specified")
    return ExecSpec(
        cmd=cmd, env=get_str_list(body, "Env"), user=get_str(body, "User"),
        working_dir=get_str(body, "WorkingDir"), tty=get_bool(body, "Tty"),
        attach_stdin=get_bool(body, "AttachStdin"),
        attach_stdout=get_bool(body, "AttachStdout"),
        attach_stderr=get_bool(body, "AttachStderr"),
        privileged=get_bool(body, "Privileged"), detach_keys=get_str(body, "DetachKeys"),
    )
