"""α_U against the published worked examples, as dkpro-statistics tests them.

The cases are ported from dkpro-statistics (github dkpro/dkpro-statistics,
``dkpro-statistics-agreement/src/test/java/org/dkpro/statistics/agreement/unitizing/``:
``Krippendorff1995Test``, ``Krippendorff2004Test`` and ``UnitizingAgreementTest``),
with their tolerances.  Their units are ``(offset, length)``; ours ``(start, end)``.
"""

from __future__ import annotations

import math

import pytest

from annotations.agreement.unitizing import unitizing_alpha


def _study(raters: int, units: list[tuple[int, int, int, str]]) -> list[dict[str, list]]:
    """``units`` as dkpro's ``addUnit(offset, length, rater, category)`` calls."""
    study: list[dict[str, list]] = [{} for _ in range(raters)]
    for offset, length, rater, label in units:
        study[rater].setdefault(label, []).append((offset, offset + length))
    return study


def krippendorff_1995(stretch: float) -> tuple[list[dict[str, list]], int]:
    """Krippendorff (1995: p. 57): four pairs of observers, 24 positions, ``stretch``ed."""
    raw = [
        (2, 8, 0, "A"), (14, 6, 0, "A"), (4, 4, 1, "A"), (15, 2, 1, "A"),
        (0, 18, 0, "B"), (0, 2, 1, "B"), (2, 1, 1, "B"), (3, 1, 1, "B"), (4, 1, 1, "B"),
        (5, 1, 1, "B"), (6, 3, 1, "B"), (9, 1, 1, "B"),
        (2, 6, 0, "C"), (10, 2, 0, "C"), (14, 4, 0, "C"), (20, 2, 0, "C"),
        (0, 2, 1, "C"), (4, 4, 1, "C"), (10, 4, 1, "C"), (16, 2, 1, "C"), (20, 2, 1, "C"),
        (0, 2, 0, "D"), (2, 8, 0, "D"), (10, 4, 0, "D"), (14, 6, 0, "D"), (20, 4, 0, "D"),
        (0, 4, 1, "D"), (4, 4, 1, "D"), (8, 7, 1, "D"), (15, 2, 1, "D"), (17, 7, 1, "D"),
    ]  # fmt: skip
    units = [(int(o * stretch), int(n * stretch), r, c) for o, n, r, c in raw]
    # Shrunk by half, some one-position units of B become empty; a span is never empty,
    # and each label is computed on its own, so they are left out (only C is checked then).
    units = [unit for unit in units if unit[1] > 0]
    return _study(2, units), int(24 * stretch)


def test_krippendorff_1995_observed_disagreement() -> None:
    study, length = krippendorff_1995(1)
    _, labels = unitizing_alpha(study, length)
    assert labels["A"].observed == pytest.approx(0.03125, abs=1e-5)
    assert labels["B"].observed == pytest.approx(2.26736, abs=1e-5)
    assert labels["C"].observed == pytest.approx(0.02777, abs=1e-5)
    assert labels["D"].observed == pytest.approx(0.38715, abs=1e-5)


def test_krippendorff_1995_expected_disagreement_and_alpha() -> None:
    study, length = krippendorff_1995(1200000 / 24)
    _, labels = unitizing_alpha(study, length)
    for label, expected, alpha in (("A", 0.06990, 0.553), ("B", 1.17731, -0.926),
                                   ("C", 0.08642, 0.679), ("D", 0.41445, 0.066)):
        assert labels[label].expected == pytest.approx(expected, abs=0.005)
        assert labels[label].alpha == pytest.approx(alpha, abs=0.02)


@pytest.mark.parametrize(("stretch", "expected", "tolerance", "alpha"), [
    (12 / 24, 0.05494, 0.00001, 0.494),
    (120 / 24, 0.08234, 0.005, 0.663),
    (1200 / 24, 0.08600, 0.005, 0.677),
    (12000 / 24, 0.08638, 0.005, 0.678),
    (120000 / 24, 0.08642, 0.005, 0.679),
])
def test_krippendorff_1995_varying_lengths(
    stretch: float, expected: float, tolerance: float, alpha: float
) -> None:
    study, length = krippendorff_1995(stretch)
    _, labels = unitizing_alpha(study, length)
    assert labels["C"].observed == pytest.approx(0.02777, abs=1e-5)
    assert labels["C"].expected == pytest.approx(expected, abs=tolerance)
    assert labels["C"].alpha == pytest.approx(alpha, abs=0.02)


def krippendorff_2004() -> tuple[list[dict[str, list]], int]:
    """Krippendorff (2004: p. 254); the continuum starts at 150 there, at 0 here."""
    raw = [(225, 70, 0, "c"), (370, 30, 0, "c"), (220, 80, 1, "c"), (355, 20, 1, "c"),
           (400, 20, 1, "c"), (180, 60, 0, "k"), (300, 50, 0, "k"), (180, 60, 1, "k"),
           (300, 50, 1, "k")]
    return _study(2, [(o - 150, n, r, c) for o, n, r, c in raw]), 300


def test_krippendorff_2004_overall() -> None:
    overall, _ = unitizing_alpha(*krippendorff_2004())
    assert overall.alpha == pytest.approx(0.8591, abs=0.0005)


def test_krippendorff_2004_per_label() -> None:
    _, labels = unitizing_alpha(*krippendorff_2004())
    assert labels["c"].observed == pytest.approx(0.0144, abs=1e-4)
    assert labels["c"].expected == pytest.approx(0.0532, abs=1e-4)
    assert labels["c"].alpha == pytest.approx(0.7286, abs=1e-4)
    assert labels["k"].observed == pytest.approx(0.0, abs=1e-4)
    assert labels["k"].expected == pytest.approx(0.0490, abs=1e-4)
    assert labels["k"].alpha == pytest.approx(1.0, abs=1e-4)


def test_dkpro_one_long_unit_against_three_short_ones() -> None:
    # r0: -11111111-   r1: --1-1-1---
    study = _study(2, [(1, 8, 0, "A"), (2, 1, 1, "A"), (4, 1, 1, "A"), (6, 1, 1, "A")])
    _, labels = unitizing_alpha(study, 10)
    assert labels["A"].observed == pytest.approx(0.9100, abs=1e-4)
    assert labels["A"].expected == pytest.approx(0.5351, abs=1e-4)
    assert labels["A"].alpha == pytest.approx(-0.7003, abs=1e-4)


def test_dkpro_single_unit_is_zero_and_empty_study_is_nan() -> None:
    overall, _ = unitizing_alpha(_study(3, [(0, 1, 0, "X")]), 20)
    assert overall.alpha == 0.0
    overall, labels = unitizing_alpha(_study(3, []), 20)
    assert math.isnan(overall.alpha) and labels == {}


def test_identical_unitizings_agree_perfectly() -> None:
    units = {"X": [(2, 5), (9, 12)], "Y": [(5, 7)]}
    overall, labels = unitizing_alpha([units, dict(units)], 20)
    assert overall.alpha == 1.0
    assert labels["X"].alpha == labels["Y"].alpha == 1.0


def test_overlapping_units_of_one_annotator_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        unitizing_alpha([{"X": [(0, 5), (3, 8)]}, {"X": [(0, 5)]}], 10)
