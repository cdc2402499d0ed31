"""The outcomes of fct_email_lift in words: what each measures and the unit of its lift."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    name: str
    title: str  # what is measured, after a trigger
    unit: str  # the unit of the mean and the lift, as shown
    scale: float  # shown value = mart value × scale (shares become percentage points)
    decimals: int


# Shares (0-1) are shown as percentages, and a difference of shares in percentage points.
POINTS = "percentage points"
# In the order the report shows them; the first is each trigger type's headline.
OUTCOMES = {
    outcome.name: outcome
    for outcome in (
        Outcome("active_days_28d", "Active days in the 28 days after", "days", 1, 1),
        Outcome("active_days_7d", "Active days in the 7 days after", "days", 1, 2),
        Outcome("retained_28d", "Still active in the fourth week", POINTS, 100, 1),
        Outcome("stage_progressed_28d", "Moved up a stage within 28 days", POINTS, 100, 1),
        Outcome(
            "account_seats_and_invites_28d",
            "Seats added and invites sent by the account in 28 days",
            "per trigger",
            1,
            2,
        ),
        Outcome("cta_clicked_7d", "Clicked the e-mail's button within 7 days", POINTS, 100, 1),
    )
}
HEADLINE = "active_days_28d"
