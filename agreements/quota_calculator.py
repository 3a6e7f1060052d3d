"""The quota calculator's arithmetic (the reverse funnel), without Django: from a revenue
goal back to the won deals, SQLs, SALs and MQLs a month that marketing must deliver.

The rule (docs/agreements.md, "Quota calculator"), each step rounded UP to a whole number,
because a promise of 119.2 SQLs is kept only by the 120th:
1. marketing's revenue = goal × marketing share;
2. won deals in the period = ⌈marketing's revenue ÷ average won deal⌉;
3. won deals a month = ⌈won deals in the period ÷ months in the period⌉;
4. SQLs = ⌈won deals a month ÷ (SQL → won rate)⌉; SALs = ⌈SQLs ÷ (SAL → SQL rate)⌉;
   MQLs = ⌈SALs ÷ (MQL → SAL rate)⌉.
Percentages are read as exact decimals (`Fraction`), so 7 ÷ 7% is 100, never 100.000…01 → 101.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import ceil

MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
STAGES = ("mql", "sal", "sql")


@dataclass(frozen=True)
class QuotaInputs:
    """The assumptions: a revenue goal for `period`, the share (%) expected from
    marketing-sourced deals, the average won deal, and the stage conversion rates (%)."""

    revenue_goal: Decimal
    period: str  # month, quarter or year
    marketing_share_pct: Decimal
    average_deal: Decimal
    mql_to_sal_pct: Decimal
    sal_to_sql_pct: Decimal
    sql_to_won_pct: Decimal


@dataclass(frozen=True)
class QuotaResult:
    """What marketing's `lead_volume` commitment should ask for, a month."""

    marketing_revenue: Decimal  # in the period
    won_in_period: int
    won: int  # a month, and below
    sqls: int
    sals: int
    mqls: int

    def per_month(self, stage: str) -> int:
        """The monthly number for a lead-volume stage (mql, sal or sql)."""
        return {"mql": self.mqls, "sal": self.sals, "sql": self.sqls}[stage]


def _exact(value: Decimal) -> Fraction:
    return Fraction(Decimal(value))


def quota_errors(inputs: QuotaInputs) -> dict[str, str]:
    """Field → message for each assumption the arithmetic cannot use (empty: all good)."""
    errors = {}
    if inputs.period not in MONTHS_IN:
        errors["period"] = "Choose month, quarter or year."
    if inputs.revenue_goal <= 0:
        errors["revenue_goal"] = "The revenue goal is more than 0."
    if inputs.average_deal <= 0:
        errors["average_deal"] = "The average won deal is more than 0."
    if not 0 < inputs.marketing_share_pct <= 100:
        errors["marketing_share_pct"] = "The share is more than 0% and at most 100%."
    for name in ("mql_to_sal_pct", "sal_to_sql_pct", "sql_to_won_pct"):
        if not 0 < getattr(inputs, name) <= 100:
            errors[name] = "A conversion rate is more than 0% and at most 100%."
    return errors


def reverse_funnel(inputs: QuotaInputs) -> QuotaResult:
    """The numbers a month, each step rounded up (the module's rule). Raises ValueError
    naming the first unusable assumption."""
    errors = quota_errors(inputs)
    if errors:
        raise ValueError(next(iter(errors.values())))
    revenue = _exact(inputs.revenue_goal) * _exact(inputs.marketing_share_pct) / 100
    won_in_period = ceil(revenue / _exact(inputs.average_deal))
    won = ceil(Fraction(won_in_period, MONTHS_IN[inputs.period]))
    sqls = ceil(won * 100 / _exact(inputs.sql_to_won_pct))
    sals = ceil(sqls * 100 / _exact(inputs.sal_to_sql_pct))
    mqls = ceil(sals * 100 / _exact(inputs.mql_to_sal_pct))
    return QuotaResult(
        marketing_revenue=Decimal(revenue.numerator) / Decimal(revenue.denominator),
        won_in_period=won_in_period,
        won=won,
        sqls=sqls,
        sals=sals,
        mqls=mqls,
    )


def _money(value: Decimal) -> str:
    value = Decimal(value)
    return f"{int(value):,}" if value == value.to_integral_value() else f"{value:,.2f}"


def _pct(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}%"


def assumptions_text(inputs: QuotaInputs, result: QuotaResult, *, stage: str, source: str) -> str:
    """The term comment that records where the number came from (`source`: which history
    the rates were prefilled from, and which were edited)."""
    period = inputs.period
    lines = [
        f"Quota calculator: {result.per_month(stage)} {stage.upper()}s a month.",
        f"Revenue goal {_money(inputs.revenue_goal)} a {period}, "
        f"{_pct(inputs.marketing_share_pct)} from marketing-sourced deals "
        f"= {_money(result.marketing_revenue)}; average won deal "
        f"{_money(inputs.average_deal)} → {result.won_in_period} won deals a {period}"
        + (f", {result.won} a month." if period != "month" else "."),
        f"SQL → won {_pct(inputs.sql_to_won_pct)} → {result.sqls} SQLs; "
        f"SAL → SQL {_pct(inputs.sal_to_sql_pct)} → {result.sals} SALs; "
        f"MQL → SAL {_pct(inputs.mql_to_sal_pct)} → {result.mqls} MQLs a month "
        "(each step rounded up).",
    ]
    if source:
        lines.append(source)
    return "\n".join(lines)
