"""The programme report as one self-contained HTML file: Jinja2, the plots inline as SVG."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from orchestration.report.data import NOT_ENOUGH_DATA, Funnel, Lift, ProgrammeData
from orchestration.report.outcomes import OUTCOMES, POINTS, Outcome
from orchestration.report.plots import lift_plot, stage_flow_plot

TEMPLATES_DIR = Path(__file__).parent / "templates"
TITLE = "How the automated e-mails are doing"


@dataclass(frozen=True)
class TriggerSection:
    """One trigger type in the report."""

    trigger_type: str
    funnel: Funnel
    verdict: str  # the headline outcome's over every locale
    sentence: str
    table: list[Lift]  # every outcome over every locale, in OUTCOMES' order
    plot: Markup | None

    @property
    def title(self) -> str:
        return trigger_title(self.trigger_type)

    @property
    def anchor(self) -> str:
        return f"trigger-{self.trigger_type}"


def trigger_title(trigger_type: str) -> str:
    return trigger_type.replace("_", " ").capitalize()


def number(value: float | int | None, decimals: int = 0, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return format_decimal(value, pattern, locale="en")


def percent(rate: float | None) -> str:
    return "–" if rate is None else format_percent(rate, "#,##0.0%", locale="en")


def mean_text(value: float | None, outcome: Outcome) -> str:
    """An outcome's mean as shown: shares as percentages, the rest in its unit."""
    if value is None:
        return "–"
    if outcome.unit == POINTS:
        return percent(value)
    return f"{number(value, outcome.decimals)} {outcome.unit}"


def lift_text(lift: Lift) -> str:
    """The lift with its interval (only where there is enough data)."""
    outcome = OUTCOMES[lift.outcome]
    value, low, high = (
        number(x * outcome.scale, outcome.decimals, signed=True)
        for x in (lift.lift, lift.lift_ci_low, lift.lift_ci_high)
    )
    return f"{value} {outcome.unit} ({low} to {high})"


def units_text(count: int, unit: str) -> str:
    return f"{number(count)} {unit}{'' if count == 1 else 's'}"


def verdict_sentence(headline: Lift | None, data: ProgrammeData) -> str:
    """What the headline verdict means for a reader, in the words of docs/effect.md."""
    unit = data.holdout_unit
    if headline is None or not headline.has_enough_data:
        treated = headline.treated_units if headline else 0
        held_out = headline.holdout_units if headline else 0
        return (
            f"Not enough data yet to tell: {units_text(treated, unit)} got these e-mails and "
            f"{units_text(held_out, unit)} {'was' if held_out == 1 else 'were'} held out, and "
            f"a verdict needs at least {data.min_effect_sample} in each group. No number is "
            f"shown on purpose: with so few {unit}s, a lift would say more about them than "
            "about the e-mails."
        )
    outcome = OUTCOMES[headline.outcome]
    low, high = (
        number(abs(x), outcome.decimals) for x in (headline.lift_ci_low, headline.lift_ci_high)
    )
    size = number(abs(headline.lift), outcome.decimals)
    match headline.verdict:
        case "higher":
            return (
                f"The e-mails work: users were active {size} more days in the 28 days after a "
                f"trigger than comparable users who got no e-mail (with 95% confidence, "
                f"between {low} and {high} more)."
            )
        case "lower":
            return (
                f"Users were less active after these e-mails: {size} fewer active days in the "
                f"28 days after a trigger than comparable users who got none (with 95% "
                f"confidence, between {high} and {low} fewer). Look at the content, the timing "
                "and the unsubscribe rate."
            )
        case _:
            return (
                "No clear difference: the lift in active days over 28 days lies between "
                f"{number(headline.lift_ci_low, outcome.decimals, signed=True)} and "
                f"{number(headline.lift_ci_high, outcome.decimals, signed=True)} days, which "
                "includes no effect at all, so the data cannot tell an effect from chance. A "
                "wide interval means: wait for more triggers; a narrow one around 0: there is "
                "no effect worth having."
            )


def trigger_sections(data: ProgrammeData) -> list[TriggerSection]:
    sections = []
    for trigger_type in data.trigger_types:
        lifts = data.lifts_of(trigger_type)
        overall = {lift.outcome: lift for lift in lifts if lift.locale == "all"}
        headline = data.headline(trigger_type)
        sections.append(
            TriggerSection(
                trigger_type=trigger_type,
                funnel=data.funnels.get(trigger_type, Funnel()),
                verdict=headline.verdict if headline else NOT_ENOUGH_DATA,
                sentence=verdict_sentence(headline, data),
                table=[overall[name] for name in OUTCOMES if name in overall],
                plot=Markup(lift_plot(lifts)) if lifts else None,
            )
        )
    return sections


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(number=number, percent=percent)
    environment.globals.update(
        outcomes=OUTCOMES, mean_text=mean_text, lift_text=lift_text, units_text=units_text
    )
    return environment


def render_programme_report(data: ProgrammeData, day: date) -> str:
    """The report of the programme as built for `day`: one HTML file, nothing to fetch."""
    template = _environment().get_template("programme_report.html")
    return template.render(
        title=TITLE,
        day=day,
        data=data,
        sections=trigger_sections(data),
        stage_plot=Markup(stage_flow_plot(data.stage_weeks)) if data.stage_weeks else None,
        css=Markup((TEMPLATES_DIR / "programme_report.css").read_text(encoding="utf-8")),
    )
