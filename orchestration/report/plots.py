"""The report's plots, drawn with matplotlib as SVG text to put inline in the page.

Text stays text in the SVG (`svg.fonttype: none`): the page's reader can search and copy it,
and the file stays small."""

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure

from orchestration.report.data import STAGES, Lift, StageWeek
from orchestration.report.outcomes import OUTCOMES, Outcome

VERDICT_COLOURS = {
    "higher": "#15803d",
    "lower": "#b91c1c",
    "no clear difference": "#1f2937",
    "not enough data": "#6b7280",
}
STAGE_COLOURS = dict(zip(STAGES, ("#bfdbfe", "#60a5fa", "#2563eb", "#1e3a8a"), strict=True))
MOVED_UP, MOVED_DOWN = "#15803d", "#b91c1c"
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "flywheel-report",  # the same ids on every run: reproducible files
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}


def svg(figure: Figure) -> str:
    """The figure as an inline `<svg>` element (no XML declaration or doctype)."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def lift_plot(lifts: Sequence[Lift]) -> str:
    """One panel per outcome: the lift of each locale ('all' first) with its 95% interval as
    an error bar, 0 marked; a row without enough data says so instead of a point."""
    with matplotlib.rc_context(STYLE):
        outcomes = [outcome for outcome in OUTCOMES.values() if _of(lifts, outcome.name)]
        columns = 3  # panels keep one width, however many outcomes have rows
        rows = -(-len(outcomes) // columns)
        locales = sorted({lift.locale for lift in lifts}, key=lambda name: (name != "all", name))
        figure = Figure(figsize=(9, rows * (0.3 * len(locales) + 0.9)), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False, sharey=True).flatten()
        for ax, outcome in zip(axes, outcomes, strict=False):
            _lift_panel(
                ax, outcome, {lift.locale: lift for lift in _of(lifts, outcome.name)}, locales
            )
        axes[0].set_yticks(range(len(locales)), [_locale_label(locale) for locale in locales])
        axes[0].set_ylim(len(locales) - 0.5, -0.5)
        for ax in axes[len(outcomes) :]:
            ax.set_visible(False)
        return svg(figure)


def _lift_panel(ax, outcome: Outcome, by_locale: dict[str, Lift], locales: list[str]) -> None:
    ax.axvline(0, color="#9ca3af", linewidth=1, linestyle="--", zorder=1)
    drawn = False
    for y, locale in enumerate(locales):
        lift = by_locale.get(locale)
        if lift is None:
            continue
        if not lift.has_enough_data:
            ax.annotate(
                "not enough data",
                (0, y),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                color=VERDICT_COLOURS["not enough data"],
                style="italic",
                fontsize=9,
            )
            continue
        value = lift.lift * outcome.scale
        low, high = lift.lift_ci_low * outcome.scale, lift.lift_ci_high * outcome.scale
        ax.errorbar(
            value,
            y,
            xerr=[[value - low], [high - value]],
            fmt="o",
            color=VERDICT_COLOURS[lift.verdict],
            capsize=4,
            markersize=5,
            zorder=2,
        )
        drawn = True
    if drawn:
        low, high = ax.get_xlim()
        margin = 0.1 * max(abs(low), abs(high))
        ax.set_xlim(min(low, -margin), max(high, margin))  # 0 always in view
    else:
        ax.set_xlim(-1, 4)
        ax.set_xticks([0])
    ax.set_title(outcome.short_title)
    ax.set_xlabel(f"lift, {outcome.unit}")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)


def stage_flow_plot(weeks: Sequence[StageWeek]) -> str:
    """Users per stage at the end of each week (stacked bars), and below, how many moved up
    and down a stage during it."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(9, 5.2), layout="constrained")
        stock, moves = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
        xs = range(len(weeks))
        bottom = [0] * len(weeks)
        for stage in STAGES:
            counts = [week.users[stage] for week in weeks]
            stock.bar(xs, counts, bottom=bottom, color=STAGE_COLOURS[stage], label=stage, width=0.7)
            bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
        stock.set_ylabel("users")
        stock.set_title("Users in each stage at the end of the week")
        stock.legend(
            reversed(stock.get_legend_handles_labels()[0]),
            reversed(STAGES),
            loc="upper left",
            bbox_to_anchor=(1, 1),
            frameon=False,
        )
        up = [week.moved_up for week in weeks]
        down = [-week.moved_down for week in weeks]
        moves.bar(xs, up, color=MOVED_UP, width=0.7, label="moved up")
        moves.bar(xs, down, color=MOVED_DOWN, width=0.7, label="moved down")
        moves.axhline(0, color="#374151", linewidth=0.8)
        moves.set_ylabel("users")
        moves.set_title("Stage changes during the week")
        moves.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
        moves.yaxis.set_major_formatter(lambda value, _: f"{abs(value):g}")
        moves.set_xticks(list(xs), [week.week.strftime("%-d %b") for week in weeks])
        moves.set_xlabel("week starting")
        return svg(figure)


def _of(lifts: Sequence[Lift], outcome: str) -> list[Lift]:
    return [lift for lift in lifts if lift.outcome == outcome]


def _locale_label(locale: str) -> str:
    return "all locales" if locale == "all" else locale
