"""The chart in docs/bi.md: weekly active users by engagement stage, read from the serving copy
with the SQL a BI user would write (weekly_active_users_by_stage.sql, shown next to the chart)
and drawn with matplotlib (a dev dependency, as for the benchmarks' chart)."""

import csv
from pathlib import Path

import duckdb
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from orchestration.settings import REPO_ROOT

QUERY = Path(__file__).with_name("weekly_active_users_by_stage.sql")
STAGES_SEED = REPO_ROOT / "dbt_project" / "seeds" / "engagement_stages.csv"
# One colour per stage, light to dark as users move up (colour-blind safe, viridis).
STAGE_COLOURS = ("#fde725", "#5ec962", "#21918c", "#3b528b")


def stages_in_order() -> list[str]:
    """The engagement stages in the order users move through them (seed stage_rank)."""
    with STAGES_SEED.open(newline="") as seed:
        rows = sorted(csv.DictReader(seed), key=lambda row: int(row["stage_rank"]))
    return [row["stage"] for row in rows]


def weekly_active_users_by_stage(serving_copy: Path) -> pd.DataFrame:
    """One row per full week (its Monday), one column of active users per stage."""
    if not serving_copy.is_file():
        raise FileNotFoundError(
            f"No serving copy at {serving_copy}: run the pipeline first (make demo)."
        )
    with duckdb.connect(str(serving_copy), read_only=True) as con:
        rows = con.execute(QUERY.read_text()).df()
    if rows.empty:
        raise ValueError(f"{serving_copy} holds no full week of active users to chart.")
    table = rows.pivot(index="week_start", columns="stage", values="active_users")
    return table.reindex(columns=stages_in_order()).fillna(0).astype(int)


def draw_weekly_active_users_by_stage(table: pd.DataFrame, path: Path) -> None:
    """Stacked bars, one per week, the stages from the first (bottom) to the last."""
    figure = Figure(figsize=(10, 5.2))  # no pyplot: no global figure, no GUI backend
    axes = figure.subplots()
    weeks = pd.to_datetime(table.index)
    bottom = pd.Series(0, index=table.index)
    for stage, colour in zip(table.columns, STAGE_COLOURS, strict=True):
        axes.bar(
            weeks,
            table[stage],
            bottom=bottom,
            width=5.5,  # days: a gap between weeks
            align="edge",
            color=colour,
            edgecolor="white",
            linewidth=0.5,
            label=stage,
        )
        bottom += table[stage]
    axes.set_title("Weekly active users by engagement stage (stage at the end of the week)")
    axes.set_xlabel("week starting (Monday)")
    axes.set_ylabel("active users")
    axes.xaxis.set_major_locator(mdates.MonthLocator())
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.set_ylim(0, bottom.max() * 1.08)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    # newest stage on top, as in the stack
    handles, labels = axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1], labels[::-1], title="stage", loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
