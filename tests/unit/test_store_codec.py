"""Codec round trips: random model values survive encode/decode with their exact types."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
import types
import typing

import pytest

from tether.model import (
    Container, ContainerSpec, ContainerState, Endpoint, EndpointRequest, Image, IPAMPool,
    Network, PoolRequest, PortBinding,
)
from tether.model.network import IPNetwork
from tether.store.codec import decode, encode

MODELS = [Network, IPAMPool, PoolRequest, Endpoint, EndpointRequest, Container, ContainerSpec,
          ContainerState, PortBinding, Image]


def sample(hint, rng: random.Random, depth: int = 0):
    """A random value of type `hint`, built from the same hints the codec walks."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: sample(hints[f.name], rng, depth + 1)
                       for f in dataclasses.fields(hint) if f.init})
    if origin in (typing.Union, types.UnionType):
        return sample(rng.choice(typing.get_args(hint)), rng, depth)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(sample(args[0], rng, depth + 1) for _ in range(rng.randint(0, 3)))
        return tuple(sample(a, rng, depth + 1) for a in args)
    if origin is dict:
        k, v = typing.get_args(hint)
        return {sample(k, rng): sample(v, rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return scalar(hint, rng)


def scalar(hint, rng: random.Random):
    if hint is type(None):
        return None
    if hint is str:
        return "".join(rng.choice("aé/:=. x\"\\\u2603") for _ in range(rng.randint(0, 8)))
    if hint is bool:
        return rng.random() < 0.5
    if hint is int:
        return rng.randint(-2**40, 2**40)
    bits = 32 if "4" in hint.__name__ else 128
    raw = rng.getrandbits(bits)
    plen = rng.randint(0, bits)
    if "Network" in hint.__name__:
        return hint((raw >> (bits - plen) << (bits - plen), plen))
    if "Interface" in hint.__name__:
        return hint((raw, plen))
    return hint(raw)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_random_round_trip(cls):
    rng = random.Random(hash(cls.__name__) & 0xFFFF)
    for _ in range(200):
        value = sample(cls, rng)
        data = encode(value)
        json.loads(data)
        back = decode(cls, data)
        assert back == value
        assert encode(back) == data


def test_types_are_exact():
    pool = IPAMPool(subnet=ipaddress.ip_network("fd00::/64"), gateway=ipaddress.ip_address(
        "fd00::1"), aux_addresses=(("r", ipaddress.ip_address("fd00::2")),))
    back = decode(IPAMPool, encode(pool))
    assert type(back.subnet) is ipaddress.IPv6Network
    assert type(back.gateway) is ipaddress.IPv6Address
    assert type(back.aux_addresses) is tuple and type(back.aux_addresses[0]) is tuple
    pools = decode(tuple[IPAMPool, ...], encode((pool,)))
    assert pools == (pool,)
    assert decode(list[IPNetwork], b'["10.0.0.0/8","::/0"]') == [
        ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv6Network("::/0")]


def test_missing_and_unknown_fields():
    data = b'{"container_port": 80, "from_the_future": 1}'
    assert decode(PortBinding, data) == PortBinding(80)


def test_unencodable_value_is_refused():
    with pytest.raises(TypeError):
        encode(object())
