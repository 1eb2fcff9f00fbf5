"""JSON encoding of the model's dataclasses, rebuilt by walking their type hints.

`encode` turns dataclasses into objects, tuples into arrays and ip objects into their text;
`decode(cls, data)` rebuilds exactly the typed value from `cls`'s hints (tuples stay tuples,
`IPv4Network` comes back as `IPv4Network`). Missing fields take their defaults and unknown
fields are ignored, so records written by an older or newer tetherd still load.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
import types
import typing
from typing import Any, Callable, TypeVar

T = TypeVar("T")
Decoder = Callable[[Any], Any]

IP_PARSERS: dict[type, Callable[[str], Any]] = {
    ipaddress.IPv4Address: ipaddress.IPv4Address,
    ipaddress.IPv6Address: ipaddress.IPv6Address,
    ipaddress.IPv4Network: ipaddress.IPv4Network,
    ipaddress.IPv6Network: ipaddress.IPv6Network,
    ipaddress.IPv4Interface: ipaddress.IPv4Interface,
    ipaddress.IPv6Interface: ipaddress.IPv6Interface,
}
IP_FAMILIES: list[tuple[frozenset[type], Callable[[str], Any]]] = [
    (frozenset({ipaddress.IPv4Address, ipaddress.IPv6Address}), ipaddress.ip_address),
    (frozenset({ipaddress.IPv4Network, ipaddress.IPv6Network}), ipaddress.ip_network),
    (frozenset({ipaddress.IPv4Interface, ipaddress.IPv6Interface}), ipaddress.ip_interface),
]
PRIMITIVES = (str, int, float, bool)


def encode(obj: Any) -> bytes:
    """Serialise a model value (dataclass, tuple, dict, ip object, primitive) to JSON bytes."""
    return json.dumps(to_json(obj), separators=(",", ":")).encode()


def decode(cls: type[T] | Any, data: bytes) -> T:
    """Rebuild a value of type `cls` (a dataclass or any hint such as `tuple[IPAMPool, ...]`)."""
    return decoder_for(cls)(json.loads(data))


def to_json(obj: Any) -> Any:
    """The JSON-ready form of `obj`: dataclass -> dict, tuple/list -> list, ip -> str."""
    if obj is None or isinstance(obj, PRIMITIVES):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_json(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if type(obj) in IP_PARSERS:
        return str(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} in the store")


@functools.lru_cache(maxsize=None)
def decoder_for(hint: Any) -> Decoder:
    """Build (once per type) the function that turns JSON data back into `hint`."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return lambda v: v
    if hint in PRIMITIVES:
        return primitive(hint)
    if hint in IP_PARSERS:
        return IP_PARSERS[hint]
    if dataclasses.is_dataclass(hint):
        return dataclass_decoder(hint)
    if origin in (typing.Union, types.UnionType):
        return union_decoder(typing.get_args(hint))
    if origin is tuple:
        return tuple_decoder(typing.get_args(hint))
    if origin is list:
        item = decoder_for(typing.get_args(hint)[0])
        return lambda v: [item(x) for x in v]
    if origin is dict:
        key, value = (decoder_for(a) for a in typing.get_args(hint))
        return lambda v: {key(k): value(x) for k, x in v.items()}
    raise TypeError(f"cannot decode {hint!r} from the store")


def primitive(cls: type) -> Decoder:
    if cls is float:
        return float
    return lambda v: v if type(v) is cls else cls(v)


def dataclass_decoder(cls: type) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, decoder_for(hints[f.name])) for f in dataclasses.fields(cls) if f.init]

    def build(v: dict[str, Any]) -> Any:
        return cls(**{name: dec(v[name]) for name, dec in fields if name in v})

    return build


def union_decoder(args: tuple[Any, ...]) -> Decoder:
    """`X | None` decodes X unless null; a union of one ip family parses by family."""
    optional = type(None) in args
    members = tuple(a for a in args if a is not type(None))
    if len(members) == 1:
        inner = decoder_for(members[0])
    else:
        inner = next((parse for family, parse in IP_FAMILIES if set(members) <= family), None)
        if inner is None:
            raise TypeError(f"cannot decode the union {args!r} from the store")
    if not optional:
        return inner
    return lambda v: None if v is None else inner(v)


def tuple_decoder(args: tuple[Any, ...]) -> Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        item = decoder_for(args[0])
        return lambda v: tuple(item(x) for x in v)
    items = [decoder_for(a) for a in args]
    return lambda v: tuple(dec(x) for dec, x in zip(items, v, strict=True))
