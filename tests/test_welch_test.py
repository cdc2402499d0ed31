"""The lift's test (dbt_project/macros/welch_test.sql) against scipy: Welch's interval and
p-value as the warehouse computes them, for cases from large samples down to a handful of
triggers, the A/A case, whose interval covers 0, and the test over holdout units (accounts),
whose variance is that of the units' totals."""

import math
import random

import pytest
from dagster_dbt import DbtCliResource
from scipy import stats

from orchestration.dbt.project import flywheel_dbt
from tests.dbt_show import dbt_show

# (n, mean, sample variance) of the treated and the holdout triggers
CASES = [
    (5, 5.0, 2.5, 3, 2.0, 1.0),  # the hand-computed case of fct_email_lift's unit test
    (30, 2.4, 3.1, 30, 1.9, 2.6),
    (412, 3.05, 4.2, 37, 2.61, 3.9),
    (1500, 11.2, 40.0, 160, 10.1, 52.0),
    (40, 1.0, 1.5, 40, 1.0, 1.5),  # A/A: the same groups
    (12, 0.4, 0.3, 9, 2.8, 5.1),  # a drop
]
COLUMNS = "n_1, mean_1, var_1, n_2, mean_2, var_2"


def scipy_welch(n_1, mean_1, var_1, n_2, mean_2, var_2) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) of Welch's test, from scipy's t distribution."""
    result = stats.ttest_ind_from_stats(
        mean_1, math.sqrt(var_1), n_1, mean_2, math.sqrt(var_2), n_2, equal_var=False
    )
    std_error = math.sqrt(var_1 / n_1 + var_2 / n_2)
    df = std_error**4 / ((var_1 / n_1) ** 2 / (n_1 - 1) + (var_2 / n_2) ** 2 / (n_2 - 1))
    margin = stats.t.ppf(0.975, df) * std_error
    lift = mean_1 - mean_2
    return lift - margin, lift + margin, result.pvalue


def unit_arm(units: list[list[int]]) -> tuple[int, float, float]:
    """(units, mean over triggers, variance of the units' totals around it / Nbar²): one arm
    of the delta method, computed by hand."""
    totals, sizes = [sum(unit) for unit in units], [len(unit) for unit in units]
    mean = sum(totals) / sum(sizes)
    residuals = [total - mean * size for total, size in zip(totals, sizes, strict=True)]
    per_unit = sum(sizes) / len(units)
    return len(units), mean, stats.tvar(residuals) / per_unit**2


def clustered_observations() -> dict[str, list[list[int]]]:
    """Two arms of accounts of 1 to 12 triggers each, the treated one a day more active. An
    account has its own level of activity, so its triggers resemble each other."""
    draw = random.Random(7)
    arms = {}
    for arm, accounts, shift in [("treated", 60, 1), ("holdout", 35, 0)]:
        levels = [draw.randint(0, 3) for _ in range(accounts)]
        arms[arm] = [
            [level + draw.randint(0, 2) + shift for _ in range(draw.randint(1, 12))]
            for level in levels
        ]
    return arms


@pytest.fixture(scope="module")
def warehouse_results(tmp_path_factory) -> dict[str, list[dict]]:
    """The cases through the macros, by `dbt show` on a DuckDB warehouse with the rules."""
    warehouse = tmp_path_factory.mktemp("welch") / "welch.duckdb"
    target = tmp_path_factory.mktemp("target")
    rows = ", ".join(f"({', '.join(map(str, case))})" for case in CASES)
    cases_sql = f"""
        with cases as (
            select * from (values {rows}) as cases({COLUMNS})
        ),
        welch as (
            select
                *,
                {{{{ welch_std_error('n_1', 'var_1', 'n_2', 'var_2') }}}} as std_error,
                {{{{ welch_degrees_of_freedom('n_1', 'var_1', 'n_2', 'var_2') }}}} as df
            from cases
        )
        select
            n_1, n_2,
            {{{{ lift_test_columns('lift', 'mean_1 - mean_2', 'std_error', 'df', 'true') }}}}
        from welch
    """
    observations = ", ".join(
        f"('{arm}', '{arm}_{index}', {value})"
        for arm, units in clustered_observations().items()
        for index, unit in enumerate(units)
        for value in unit
    )
    units_sql = f"""
        with observations as (
            select 'level_up' as trigger_type, 'active_days_7d' as outcome, *
            from (values {observations}) as observations(arm, unit_id, outcome_value)
        )
        select * from ({{{{ welch_lift('observations', ['trigger_type']) }}}}) as lifts
    """
    dbt = DbtCliResource(project_dir=flywheel_dbt)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLYWHEEL_WAREHOUSE", str(warehouse))
        seed = ["seed", "--select", "engagement_rules"]
        dbt.cli(seed, raise_on_error=True, target_path=target).wait()
        return {
            "cases": dbt_show(dbt, cases_sql, target),
            "units": dbt_show(dbt, units_sql, target),
        }


def test_interval_and_p_value_equal_scipys(warehouse_results):
    by_size = {(row["n_1"], row["n_2"]): row for row in warehouse_results["cases"]}
    assert len(by_size) == len(CASES)
    for case in CASES:
        row = by_size[(case[0], case[3])]
        ci_low, ci_high, p_value = scipy_welch(*case)
        assert row["lift"] == pytest.approx(case[1] - case[4], abs=1e-12)
        # the approximations of t's quantile: within 3e-4 standard errors from 5 degrees of
        # freedom on; the hand-computed case has 5.9
        assert row["lift_ci_low"] == pytest.approx(ci_low, abs=1e-3), case
        assert row["lift_ci_high"] == pytest.approx(ci_high, abs=1e-3), case
        assert row["lift_p_value"] == pytest.approx(p_value, abs=1e-5), case


def test_an_a_a_interval_covers_zero_and_a_real_difference_does_not(warehouse_results):
    by_size = {(row["n_1"], row["n_2"]): row for row in warehouse_results["cases"]}
    same = by_size[(40, 40)]
    assert same["lift_ci_low"] < 0 < same["lift_ci_high"]
    assert same["lift_p_value"] == pytest.approx(1.0, abs=1e-6)
    assert by_size[(5, 3)]["lift_ci_low"] > 0  # 3 ± 2.24
    assert by_size[(12, 9)]["lift_ci_high"] < 0


def test_the_test_counts_holdout_units_with_the_variance_of_their_totals(warehouse_results):
    (row,) = warehouse_results["units"]
    arms = clustered_observations()
    treated, holdout = unit_arm(arms["treated"]), unit_arm(arms["holdout"])
    assert (row["treated_units"], row["holdout_units"]) == (60, 35)
    assert row["treated_count"] == sum(map(len, arms["treated"]))
    assert row["treated_mean"] == pytest.approx(treated[1], rel=1e-12)
    assert row["holdout_mean"] == pytest.approx(holdout[1], rel=1e-12)
    ci_low, ci_high, p_value = scipy_welch(*treated, *holdout)
    assert row["has_enough_data"] is True
    assert row["lift_ci_low"] == pytest.approx(ci_low, abs=1e-3)
    assert row["lift_ci_high"] == pytest.approx(ci_high, abs=1e-3)
    assert row["lift_p_value"] == pytest.approx(p_value, abs=1e-5)
    # a day more active: the interval excludes 0, and is wider than if every trigger counted
    assert ci_low > 0
    per_trigger = [value for unit in arms["treated"] for value in unit]
    held_out = [value for unit in arms["holdout"] for value in unit]
    naive = stats.ttest_ind(per_trigger, held_out, equal_var=False).confidence_interval()
    assert ci_high - ci_low > naive.high - naive.low
