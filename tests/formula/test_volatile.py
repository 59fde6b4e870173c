"""Volatile functions draw once per evaluation from a seed (`xl_lesson3.formula.evaluate.volatile`)."""

from __future__ import annotations

from xl_lesson3.formula.evaluate.volatile import generator, now, volatile_scope


def _draws(seed):
    with volatile_scope(seed):
        first = generator().random(3).tolist()
        with volatile_scope(seed + 1):  # nested: still the outer evaluation's generator
            second = generator().random(2).tolist()
        return first, second, now()


def test_one_generator_per_evaluation_and_a_fixed_now():
    first, second, _ = _draws(7)
    again_first, again_second, _ = _draws(7)
    assert (first, second) == (again_first, again_second)
    assert first[:2] != second  # the nested scope continued the same stream
    with volatile_scope(7):
        assert now() == now()


def test_seeds_give_different_draws():
    assert _draws(1)[0] != _draws(2)[0]
