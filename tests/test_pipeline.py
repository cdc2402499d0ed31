"""End to end: generated raw data through ingestion and dbt into the marts."""

from orchestration.runner import run_daily
from orchestration.summary import STAGING_MODELS
from tests.pipeline import END_DATE, Pipeline, dirty_manifest


def quarantined(pipeline: Pipeline) -> dict[tuple[str, str], int]:
    rows = pipeline.query(
        "select source_table, reason, count(*) from marts.fct_data_quarantine group by all"
    )
    return {(table, reason): count for table, reason, count in rows}


def test_every_planted_bad_row_is_quarantined_with_its_reason(demo_pipeline):
    planted = {
        (table, reason): count
        for table, spec in dirty_manifest(demo_pipeline)["tables"].items()
        for reason, count in spec["planted"].items()
    }
    assert quarantined(demo_pipeline) == planted


def test_no_good_row_is_lost(demo_pipeline):
    for table, spec in dirty_manifest(demo_pipeline)["tables"].items():
        good = spec["rows"] - sum(spec["planted"].values())
        staged = demo_pipeline.scalar(f"select count(*) from {STAGING_MODELS[table]}")
        assert staged == good, table


def test_raw_rows_equal_staged_plus_quarantined(demo_pipeline):
    held = quarantined(demo_pipeline)
    for table, model in STAGING_MODELS.items():
        raw = demo_pipeline.scalar(f"select count(*) from raw.{table}")
        staged = demo_pipeline.scalar(f"select count(*) from {model}")
        assert raw == staged + sum(n for (t, _), n in held.items() if t == table), table


def test_running_the_same_day_again_adds_nothing(demo_pipeline):
    before = demo_pipeline.query("select count(*) from raw.events")
    assert run_daily(END_DATE, resources=demo_pipeline.resources()).success
    assert demo_pipeline.query("select count(*) from raw.events") == before
    files = list(demo_pipeline.raw_dir.glob("*/*.parquet"))
    assert demo_pipeline.scalar("select count(*) from raw._loaded_files") == len(files)
