"""Who owns an order-health anomaly: `health_channels` and `[[health_routes]]` of server.toml.

    health_channels = ["warehouse-ops"]   # get every anomaly; default: every channel no route names
    [[health_routes]]                     # an owner of a part of the warehouse also gets what concerns it
    channels = ["shop-tmall"]             # names of [[alert_channels]]
    slices = ["shop=天猫旗舰店"]          # dimension=value; empty: any slice
    indicators = ["intercept_rate"]       # empty: any indicator

An anomaly concerns a slice when it is that slice's reading or when its explanation names that slice
as where the excess comes from: a refund surge flagged for the whole warehouse and explained by one
shop reaches the warehouse's channel and the shop's owner, once each, with the same message. A
route narrows by indicator too, so the carrier manager can take pickup delays without scan errors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Annotated

from pydantic import Field
from pydantic.dataclasses import dataclass as settings

from app.i18n import N_, Phrase
from app.settings_file import SETTINGS, NonBlank, toml_value
from server.alerts.channels import AlertChannel


@settings(frozen=True, config=SETTINGS)
class HealthRoute:
    """One `[[health_routes]]` table."""

    channels: Annotated[tuple[NonBlank, ...], Field(min_length=1)]
    slices: tuple[NonBlank, ...] = ()  # "dimension=value", checked against the health dimensions (route_problem)
    indicators: tuple[NonBlank, ...] = ()

    def concerns(self, indicator: str, slices: Collection[str]) -> bool:
        return (not self.indicators or indicator in self.indicators) and (
            not self.slices or any(key in slices for key in self.slices))


def health_targets(channels: Iterable[AlertChannel], everything: tuple[str, ...] | None,
                   routes: Iterable[HealthRoute], indicator: str, slices: Collection[str]) -> tuple[AlertChannel, ...]:
    """The channels an anomaly of `indicator` concerning `slices` ("station=BENCH-3") goes to, each once:
    those of `everything` — when not set, every channel no route names, so an owner's channel gets only
    what concerns it — and the channels of each route that concerns it."""
    channels, routes = tuple(channels), tuple(routes)
    owners = {name for route in routes for name in route.channels}
    wanted = set(everything) if everything is not None else {c.name for c in channels} - owners
    for route in routes:
        if route.concerns(indicator, slices):
            wanted |= set(route.channels)
    return tuple(c for c in channels if c.name in wanted)


def route_problem(channel_names: Collection[str], everything: tuple[str, ...] | None,
                  routes: Iterable[HealthRoute], indicators: Collection[str],
                  dimensions: Collection[str]) -> Phrase | None:
    """What is wrong with the routes of a server.toml whose channels are `channel_names`, if anything."""
    for name in everything or ():
        if name not in channel_names:
            return Phrase(N_("health_channels must name [[alert_channels]] tables, not {name}"),
                          {"name": toml_value(name)})
    for number, route in enumerate(routes, start=1):
        where = f"[[health_routes]] #{number}"
        for name in route.channels:
            if name not in channel_names:
                return Phrase(N_("{where} .channels must name [[alert_channels]] tables, not {name}"),
                              {"where": where, "name": toml_value(name)})
        for name in route.indicators:
            if name not in indicators:
                return Phrase(N_("{where} .indicators: {name} is not an indicator (they are {known})"),
                              {"where": where, "name": toml_value(name), "known": ", ".join(indicators)})
        for key in route.slices:
            dimension, equals, value = key.partition("=")
            if not equals or dimension not in dimensions or not value.strip():
                return Phrase(N_("{where} .slices: {key} must be a dimension, '=' and a value, such as "
                                 "\"station=BENCH-3\" (the dimensions are {known})"),
                              {"where": where, "key": toml_value(key), "known": ", ".join(dimensions)})
    return None
