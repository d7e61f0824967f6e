"""The account's target list as `GET /v1/targets` shows it, and the writes that change it.

Listed are the pool's popular window (each entry as a host and as a URL: the targets the
account's small scans draw from) and every target created since, by `POST /v1/targets`
or by a scan of a name the account did not have. Pool entries beyond the window (swept
by the rare huge scans) answer by id but are not listed. A position names each listed
target: pool id number `index * 2 + as_url` inside the window, then creation order; lists
run newest first, so a target created while a list is paged never shifts it.
"""

from __future__ import annotations

from collections.abc import Iterator

from scanbot.sandbox.world.filters import Filters, parse_filters
from scanbot.sandbox.world.ids import TARGET_ID
from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.targets import (
    POOL_SIZE,
    Target,
    custom_target,
    pool_target,
    target_json,
)
from scanbot.sandbox.world.vocabulary import JSON
from scanbot.sandbox.world.writes import RequestError

TARGET_FILTER_KEYS = frozenset({"id", "target", "label", "tags"})


class TargetExists(RequestError):
    """A target with this name exists and the write did not ask to update it."""


class TargetBook:
    """The listed targets and the targets created by writes; labels and tags live in the
    table (`ScanTable.relabelled`), so a write shows wherever the target appears."""

    def __init__(self, table: ScanTable, window: int) -> None:
        self._table = table
        self._pooled = 2 * window  # listed positions taken by the pool's window
        self._created: list[Target] = []
        self._position: dict[str, int] = {}  # target_id -> listed position
        self._by_text: dict[str, str] | None = None  # target text -> id, built when needed

    def __len__(self) -> int:
        return self._pooled + len(self._created)

    def at(self, position: int) -> Target:
        """The listed target at `position`, with its current label and tags."""
        if position < self._pooled:
            return self._table.current(
                pool_target(self._table.ids, position // 2, position % 2 == 1)
            )
        return self._table.current(self._created[position - self._pooled])

    def get(self, target_id: str) -> Target | None:
        """Any target of the account by id: listed, created, or further in the pool."""
        position = self._position.get(target_id)
        if position is not None:
            return self.at(position)
        number = self._table.ids.decode(TARGET_ID, target_id)
        if number is None or number // 2 >= POOL_SIZE:
            return None
        return self._table.current(pool_target(self._table.ids, number // 2, number % 2 == 1))

    def named(self, text: str) -> Target | None:
        """The listed target called exactly `text`, if the account has one."""
        if self._by_text is None:
            self._by_text = {}
            for position in range(self._pooled):
                self._by_text.setdefault(self.at(position).target, self.at(position).target_id)
            for target in self._created:
                self._by_text.setdefault(target.target, target.target_id)
        target_id = self._by_text.get(text)
        return None if target_id is None else self.get(target_id)

    def adopt(self, text: str) -> Target:
        """The target called `text`, created (unlabelled) if the account had none."""
        return self.named(text) or self.register(custom_target(self._table.ids.seed, text))

    def register(self, target: Target) -> Target:
        """List a target a write or a test hook brought in, once."""
        if target.target_id not in self._position and self.get(target.target_id) is None:
            self._position[target.target_id] = len(self)
            self._created.append(target)
            if self._by_text is not None:
                self._by_text.setdefault(target.target, target.target_id)
        return self._table.current(target)

    def create(
        self, text: str, label: str | None, tags: tuple[str, ...] | None, *, upsert: bool
    ) -> Target:
        """`POST /v1/targets`: a new target; an existing one only with `upsert`, which sets
        the label and tags given (and keeps those not given)."""
        existing = self.named(text)
        if existing is not None and not upsert:
            raise TargetExists(f"Target {text} already exists")
        target = existing or self.register(custom_target(self._table.ids.seed, text))
        if label is not None or tags is not None:
            new_label = target.label if label is None else label
            new_tags = target.tags if tags is None else tags
            self._table.relabelled[target.target_id] = (new_label, new_tags)
        return self._table.current(target)

    def tagged(self, tags: frozenset[str]) -> list[Target]:
        """Every listed target with one of `tags`, oldest first."""
        return [t for t in (self.at(p) for p in range(len(self))) if not tags.isdisjoint(t.tags)]

    def page(
        self, filters: Filters | None, *, before: int | None, limit: int | None
    ) -> tuple[list[JSON], int | None]:
        """Up to `limit` matching targets listed before position `before`, newest first,
        and the position to go on from (None: no more)."""
        chosen: list[tuple[int, Target]] = []
        for position, target in self._matching(filters, before):
            if limit is not None and len(chosen) == limit:
                return [target_json(t) for _, t in chosen], chosen[-1][0]
            chosen.append((position, target))
        return [target_json(t) for _, t in chosen], None

    def _matching(
        self, filters: Filters | None, before: int | None
    ) -> Iterator[tuple[int, Target]]:
        parsed = parse_filters(filters, TARGET_FILTER_KEYS)
        top = len(self) if before is None else min(before, len(self))
        for position in range(top - 1, -1, -1):
            target = self.at(position)
            checks = {
                "id": (target.target_id,),
                "target": (target.target,),
                "label": (target.label,),
                "tags": target.tags,
            }
            if not any(parsed[key].isdisjoint(checks[key]) for key in parsed):
                yield position, target
