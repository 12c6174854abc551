"""The lanes of a consumer whose window counts bytes (consumer.budget.BodiesWindow), played
against a model of RabbitMQ's per-consumer prefetch: whatever the sizes of the bodies and
whenever they are settled, the bodies held never pass their share of the budget nor the count
allowed, and small bodies let the count be reached."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.consumer.budget import BodiesWindow, bodies_share

MIB = 2**20
DEFAULTS = BodiesWindow(budget_bytes=256 * MIB, max_body_bytes=12 * MIB, max_count=64)


def test_with_nothing_held_the_lane_is_what_fits_at_the_size_limit() -> None:
    assert DEFAULTS.first_lane == 18  # 224 MiB / 12 MiB
    assert DEFAULTS.lane(0, 0) == 18
    assert BodiesWindow(8 * MIB, 12 * MIB, 64).lane(0, 0) == 1  # never none


def test_small_bodies_held_leave_room_for_the_next_lane_up_to_the_count() -> None:
    assert DEFAULTS.lane(18, 18 * 100_000) == 18
    assert DEFAULTS.lane(54, 54 * 100_000) == 10
    assert DEFAULTS.lane(56, 56 * 100_000) == 0  # 8 more: less than half a lane
    assert BodiesWindow(256 * MIB, 12 * MIB, 2).lane(1, 1000) == 1  # a slow one holds the other


def test_downloads_leave_room_for_a_lane_of_the_other_commands() -> None:
    assert min(8, DEFAULTS.downloads) == 8  # DEZO_ATTACHMENT_URL_CONCURRENCY decides
    four = BodiesWindow(256 * MIB, 12 * MIB, 4)
    assert four.downloads == 2
    assert four.lane(four.downloads, 1000) == 2  # two slow downloads held: a lane still opens
    assert BodiesWindow(256 * MIB, 12 * MIB, 1).downloads == 1  # none left: README says so


def test_bodies_held_shrink_the_lane_to_half_and_no_less() -> None:
    assert DEFAULTS.lane(18, 18 * MIB) == 17  # (224 - 18) MiB / 12 MiB
    assert DEFAULTS.lane(18, 18 * 6 * MIB) == 9  # (224 - 108) / 12: half a lane
    assert DEFAULTS.lane(18, 18 * 7 * MIB) == 0  # 8 would fit: less than half
    assert DEFAULTS.lane(18, 18 * 11 * MIB) == 0


@dataclass
class Consumer:
    """One registration as the broker sees it: it sends while the unacked are fewer than the
    prefetch. The adapter cancels it once it holds them all (settling none meanwhile)."""

    prefetch: int
    unacked: int = 0


@dataclass
class Model:
    window: BodiesWindow
    held: list[tuple[Consumer, int]] = field(default_factory=list)
    active: Consumer | None = None

    def held_bytes(self) -> int:
        return sum(size for _, size in self.held)

    def register_if_room(self) -> None:
        lane = self.window.lane(len(self.held), self.held_bytes())
        if self.active is None and lane:
            self.active = Consumer(lane)

    def deliver(self, size: int) -> bool:
        consumer = self.active
        if consumer is None or consumer.unacked >= consumer.prefetch:
            return False
        consumer.unacked += 1
        self.held.append((consumer, size))
        if consumer.unacked >= consumer.prefetch:
            self.active = None  # cancelled: the broker sends it nothing more
            self.register_if_room()
        return True

    def settle(self, index: int) -> None:
        consumer, _ = self.held.pop(index % len(self.held))
        consumer.unacked -= 1
        self.register_if_room()


windows = st.builds(
    BodiesWindow,
    budget_bytes=st.integers(1_000, 100_000),
    max_body_bytes=st.integers(100, 20_000),
    max_count=st.integers(1, 80),
)


@settings(max_examples=300, deadline=None)
@given(
    window=windows,
    steps=st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.integers(0, 1000)), max_size=300),
)
def test_bodies_held_stay_within_their_share_and_the_count(
    window: BodiesWindow, steps: list[tuple[bool, float, int]]
) -> None:
    model = Model(window)
    model.register_if_room()
    share = max(bodies_share(window.budget_bytes), window.max_body_bytes)  # one always fits
    for settles, fraction, index in steps:
        if settles and model.held:
            model.settle(index)
        else:
            model.deliver(max(1, int(fraction * window.max_body_bytes)))
        assert model.held_bytes() <= share
        assert len(model.held) <= window.max_count


def test_small_bodies_fill_lanes_up_to_the_count_allowed() -> None:
    model = Model(DEFAULTS)
    model.register_if_room()
    while model.deliver(100_000):
        pass
    assert len(model.held) == 64  # lanes of 18, 18, 18 and 10
