"""The outcomes of fct_email_lift in words: what each measures and the unit of its lift."""

from dataclasses import dataclass

# Shares (0-1) are shown as percentages, and a difference of shares in percentage points.
POINTS = "percentage points"


@dataclass(frozen=True)
class Outcome:
    name: str
    title: str  # what is measured after a trigger, in the tables
    short_title: str  # the same on a plot panel
    unit: str  # the unit of the lift, as shown
    scale: float = 1  # shown value = mart value × scale (shares become percentage points)
    decimals: int = 1


# In the order the report shows them; the first is each trigger type's headline.
OUTCOMES = {
    outcome.name: outcome
    for outcome in (
        Outcome(
            "active_days_28d", "Active days in the 28 days after", "Active days, 28 days", "days"
        ),
        Outcome(
            "active_days_7d",
            "Active days in the 7 days after",
            "Active days, 7 days",
            "days",
            decimals=2,
        ),
        Outcome(
            "retained_28d", "Still active in the fourth week", "Active in week 4", POINTS, scale=100
        ),
        Outcome(
            "stage_progressed_28d",
            "Moved up a stage within 28 days",
            "Moved up a stage",
            POINTS,
            scale=100,
        ),
        Outcome(
            "account_seats_and_invites_28d",
            "Seats added and invites sent by the account in 28 days",
            "Seats and invites",
            "per trigger",
            decimals=2,
        ),
        Outcome(
            "cta_clicked_7d",
            "Clicked the e-mail's button within 7 days",
            "Clicked the button",
            POINTS,
            scale=100,
        ),
    )
}
HEADLINE = "active_days_28d"
