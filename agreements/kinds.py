"""Every kind of commitment in one registry.

Per kind: the side that owns it, its label, the fields it needs, its sentence in plain
words, whether it is a lead clock (started at hand-off, one per lead) or a period measure (a
quota judged per week, month or quarter), and for a period measure how the quota check
counts it. The models' validation, the wording, the alerts, the report labels and the
quota check read it from here, so a new kind is one entry (plus its tests).

Nothing here imports a model at load time: `agreements.models` builds its choices from this
module, and the measures import the lead selectors only when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agreements.wording import duration_words, lead_scope, plural

SALES, MARKETING = "sales", "marketing"
LEAD, PERIOD = "lead", "period"
# Every lead clock runs on a clock, may warn before it is due, and may target some leads
# (`applies_to`). A period measure counts every lead of the agreement on the calendar.
LEAD_CLOCK_FIELDS = ("clock", "warn_at_pct", "applies_to")


@dataclass(frozen=True)
class KindSpec:
    code: str
    label: str
    side: str  # "sales" or "marketing"
    scope: str  # "lead" (a clock per lead) or "period" (a quota per period)
    required: tuple[str, ...]  # the commitment fields this kind needs
    sentence: Callable[[Any], str]  # the promise in plain words
    # Period measures only: sets the obligation's `actual` (and `sample`) for the period and
    # returns whether it falls short so far (None: too few to judge).
    measure: Callable[[Any, Any], bool | None] | None = None
    meets_early: bool = False  # reaching the target is signalled (met_at) before the period ends
    paced: bool = False  # at risk by pace (actual ÷ elapsed share) rather than by `short`
    progress: Callable[[Any], str] | None = None  # "3 of 10 SALs", "33% of 6 dispositions…"
    progress_label: str = ""
    compliance_label: str = ""  # lead clocks: the row of the compliance reports
    optional: tuple[str, ...] = ()  # further fields this kind reads (shown in its form)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every commitment field this kind reads: its terms, then the lead clocks' common
        fields (clock, warning, targeting). The commitment editor shows these only."""
        common = LEAD_CLOCK_FIELDS if self.is_lead_clock else ()
        return (*self.required, *self.optional, *common)

    @property
    def is_lead_clock(self) -> bool:
        return self.scope == LEAD

    @property
    def is_period_measure(self) -> bool:
        return self.scope == PERIOD


# Sentences --------------------------------------------------------------------------------


def _first_touch(c) -> str:
    return (
        f"Sales will make a first touch on {lead_scope(c.applies_to)} within "
        f"{duration_words(c.within, c.clock)} of hand-off."
    )


def _follow_up(c) -> str:
    return (
        f"Sales will try {lead_scope(c.applies_to)} {plural(c.attempts, 'time')} in all, each "
        f"attempt within {duration_words(c.every, c.clock)} of the previous one, until the "
        "lead is reached."
    )


def _disposition(c) -> str:
    return (
        f"Sales will accept or reject {lead_scope(c.applies_to)} within "
        f"{duration_words(c.within, c.clock)} of hand-off."
    )


def _lead_volume(c) -> str:
    return f"Marketing will deliver at least {c.target} {c.stage.upper()}s each {c.period}" + (
        "." if not c.applies_to else f" ({lead_scope(c.applies_to)})."
    )


def _lead_quality(c) -> str:
    return (
        f"Marketing will keep at least {c.min_acceptance_pct}% of the leads sales "
        f"disposition each {c.period} accepted (judged from {c.min_sample} dispositions)."
    )


# Period measures --------------------------------------------------------------------------


def _measure_volume(obligation, period) -> bool:
    """Leads that first reached the promised stage (or a later one) within the period."""
    from leads.selectors import leads_reaching_stage

    commitment = obligation.commitment
    obligation.actual = leads_reaching_stage(
        commitment.version.agreement, commitment.stage, period.start, period.end
    ).count()
    return obligation.actual < obligation.target


def _measure_quality(obligation, period) -> bool | None:
    """Accepted ÷ (accepted + rejected) of the period's dispositions; None below the sample."""
    from agreements.periods import acceptance_pct
    from leads.selectors import dispositions_in

    commitment = obligation.commitment
    accepted, rejected = dispositions_in(commitment.version.agreement, period.start, period.end)
    pct = acceptance_pct(accepted, rejected)
    obligation.sample = accepted + rejected
    obligation.actual = None if pct is None else round(pct)
    if pct is None or obligation.sample < commitment.min_sample:
        return None
    return pct < commitment.min_acceptance_pct


def _volume_progress(obligation) -> str:
    stage = obligation.commitment.stage
    unit = f"{stage.upper()}s" if stage else "leads"
    return f"{obligation.actual or 0} of {obligation.target} {unit}"


def _quality_progress(obligation) -> str:
    if obligation.actual is None:
        return "not enough dispositions yet"
    return (
        f"{obligation.actual}% of {obligation.sample} dispositions "
        f"(promised {obligation.commitment.min_acceptance_pct}%)"
    )


KINDS: dict[str, KindSpec] = {
    spec.code: spec
    for spec in (
        KindSpec(
            "first_touch",
            "First touch",
            SALES,
            LEAD,
            ("within",),
            _first_touch,
            compliance_label="First touch within the SLA",
        ),
        KindSpec(
            "follow_up",
            "Follow-up cadence",
            SALES,
            LEAD,
            ("attempts", "every"),
            _follow_up,
            optional=("min_gap",),
            compliance_label="Follow-up attempts on time (spacing kept)",
        ),
        KindSpec(
            "disposition",
            "Disposition",
            SALES,
            LEAD,
            ("within",),
            _disposition,
            compliance_label="Accepted or rejected within the SLA",
        ),
        KindSpec(
            "lead_volume",
            "Lead volume",
            MARKETING,
            PERIOD,
            ("target", "stage", "period"),
            _lead_volume,
            measure=_measure_volume,
            meets_early=True,
            paced=True,
            progress=_volume_progress,
            progress_label="So far",
        ),
        KindSpec(
            "lead_quality",
            "Lead quality",
            MARKETING,
            PERIOD,
            ("min_acceptance_pct", "period"),
            _lead_quality,
            optional=("min_sample",),
            measure=_measure_quality,
            progress=_quality_progress,
            progress_label="Accepted",
        ),
    )
}

LEAD_KINDS: tuple[str, ...] = tuple(k for k, s in KINDS.items() if s.is_lead_clock)
PERIOD_KINDS: tuple[str, ...] = tuple(k for k, s in KINDS.items() if s.is_period_measure)


def kind(code: str) -> KindSpec:
    return KINDS[code]


def label(code: str) -> str:
    spec = KINDS.get(code)
    return spec.label if spec else code
