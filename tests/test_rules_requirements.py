"""What the scan's rule index may require of a condition: only what every match holds."""

from __future__ import annotations

from itertools import product

from monitor.rules.conditions import AllOf, AnyOf, NoneOf, TermLeaf, requirements


def leaf(*ids: int) -> TermLeaf:
    return TermLeaf(frozenset(ids))


def test_any_of_requires_one_union_per_group_of_its_widest_child() -> None:
    # (1 and 2) or (3 and 4 and 5): every match holds one of {1,3}, one of {2,4}, one of {2,5}
    condition = AnyOf((AllOf((leaf(1), leaf(2))), AllOf((leaf(3), leaf(4), leaf(5)))))
    assert set(requirements(condition)) == {
        frozenset({1, 3}),
        frozenset({2, 4}),
        frozenset({2, 5}),
    }


def test_every_required_group_is_met_by_every_way_the_condition_holds() -> None:
    condition = AnyOf(
        (
            AllOf((leaf(1, 2), leaf(3))),
            AllOf((leaf(4), leaf(5, 6), leaf(7))),
            leaf(8),
        )
    )
    groups = requirements(condition)
    assert len(groups) == 3
    ways = [*product((1, 2), (3,)), *product((4,), (5, 6), (7,)), (8,)]
    for way in ways:
        for group in groups:
            assert group & set(way), (way, group)


def test_a_child_that_can_hold_without_hits_leaves_any_of_unindexed() -> None:
    assert requirements(AnyOf((leaf(1), NoneOf((leaf(2),))))) == []
