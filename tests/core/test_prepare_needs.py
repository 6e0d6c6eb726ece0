"""A processor that reads what an earlier one finds declares ``needs``; the chain is checked
before the first frame and the message names the processor to add."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from visionapp.core.errors import BadInput
from visionapp.core.prepare import missing_upstream, prepare_chain


@dataclass(frozen=True)
class _Named:
    name: str
    needs: tuple[str, ...] = ()
    prepared: list = None  # type: ignore[assignment]

    def prepare(self) -> None:
        if self.prepared is not None:
            self.prepared.append(self.name)


@dataclass(frozen=True)
class _Reader:
    name: ClassVar[str] = "reader"
    needs: ClassVar[tuple[str, ...]] = ("finder", "other.finder")


def test_needs_met_by_any_earlier_processor():
    assert missing_upstream([_Named("finder"), _Reader()]) is None
    assert missing_upstream([_Named("other.finder"), _Named("x"), _Reader()]) is None


@pytest.mark.parametrize("chain", [[_Reader()], [_Reader(), _Named("finder")],
                                   [_Named("x"), _Reader()]])
def test_missing_or_later_upstream_is_named(chain):
    assert missing_upstream(chain) == ("reader reads what finder (or other.finder) finds: add "
                                       "-p finder before -p reader")


def test_prepare_chain_checks_needs_before_preparing_anything():
    prepared: list[str] = []
    with pytest.raises(BadInput, match="add -p finder before -p reader"):
        prepare_chain([_Named("model", prepared=prepared), _Reader()])
    assert prepared == []
    prepare_chain([_Named("finder", prepared=prepared), _Reader()])
    assert prepared == ["finder"]
