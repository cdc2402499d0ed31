"""Previews as a sign-off tool, on the demo warehouse: real e-mails by send key or user, the
gallery's typical and extreme samples, test sends that never touch the ledger (outbox, and
SendGrid over real HTTP), and the docs' pictures. Every command reads the warehouse only."""

import hashlib
import re
import shutil
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.emails.groups import trigger_types
from orchestration.emails.i18n import negotiate_locale
from orchestration.emails.preview import gallery_name, gallery_samples
from orchestration.emails.real_payloads import PREVIEW_ADDRESS, for_preview
from orchestration.emails.render import render_email
from orchestration.emails.send_test import TEST_HEADER, TEST_SUBJECT_PREFIX
from orchestration.emails.unsubscribe_token import read_token
from orchestration.emails.variants import email_variants
from orchestration.settings import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, distinct_colours, png_size
from tests.sendgrid_server import FakeSendGrid

SECRET_KEY = "preview-signoff-test-secret-0123456789abcdef"
API_KEY = "SG.preview-signoff-test-key"
TESTER = "tester@example.org"


@pytest.fixture
def warehouse(demo_pipeline):
    return demo_pipeline.warehouse


@pytest.fixture
def flywheel(monkeypatch, warehouse, tmp_path):
    """Run a `flywheel` command on the demo warehouse, with more environment if given."""

    def invoke(*args: str, **environment: str):
        variables = {
            "FLYWHEEL_WAREHOUSE": str(warehouse),
            "FLYWHEEL_OUTBOX_DIR": str(tmp_path / "outbox"),
            **environment,
        }
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(main, list(args))

    return invoke


def payload_rows(demo_pipeline, where: str = "true", params: list | None = None) -> list[dict]:
    with_columns = demo_pipeline.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'email' and table_name = 'rpt_email_payloads' "
        "order by ordinal_position"
    )
    columns = [name for (name,) in with_columns]
    rows = demo_pipeline.query(f"select * from email.rpt_email_payloads where {where}", params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ledger(demo_pipeline) -> list[tuple]:
    return demo_pipeline.query("select * from email.send_ledger order by send_key")


def unsubscribe_address(html: str, settings: Settings) -> str:
    token = re.search(r"unsubscribe\?token=([^\"&]+)", html).group(1)
    return read_token(settings.unsubscribe_secret(), unquote(token)).email


# --- flywheel preview --send-key / --user --------------------------------------------------


def test_preview_of_a_send_key_is_that_real_email_in_every_language(
    demo_pipeline, warehouse, flywheel, tmp_path
):
    [payload] = payload_rows(
        demo_pipeline, "locale = 'fr' and trigger_type = 'weekly_report' order by send_key limit 1"
    )
    before = digest(warehouse)
    out = tmp_path / "one"
    result = flywheel("preview", "--send-key", payload["send_key"], "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "index.html").as_uri() in result.output
    assert digest(warehouse) == before, "the preview wrote to the warehouse"

    stem = f"weekly_report--{payload['triggered_on']}"
    settings = Settings(_env_file=None)
    for locale in ("en", "fr", "ru"):
        html = (out / f"{stem}--{locale}.html").read_text(encoding="utf-8")
        assert (out / f"{stem}--{locale}.txt").read_text(encoding="utf-8").strip()
        expected = render_email({**for_preview(payload), "locale": locale}, settings)
        assert html == expected.html
        assert unsubscribe_address(html, settings) == PREVIEW_ADDRESS
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.*"))
    assert payload["email"] not in everything
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('class="email"') == 3 and payload["send_key"] in index
    assert (out / "locales" / f"{stem}.html").is_file()


def test_preview_of_a_user_is_their_latest_email_of_each_trigger_type(
    demo_pipeline, flywheel, tmp_path
):
    [(user_id,)] = demo_pipeline.query(
        "select user_id from email.rpt_email_payloads group by user_id "
        "order by count(distinct trigger_type) desc, user_id limit 1"
    )
    latest: dict[str, dict] = {}
    for row in payload_rows(demo_pipeline, "user_id = ?", [user_id]):
        mine = latest.get(row["trigger_type"])
        if mine is None or (row["triggered_on"], row["send_key"]) > (
            mine["triggered_on"],
            mine["send_key"],
        ):
            latest[row["trigger_type"]] = row
    assert len(latest) >= 3

    out = tmp_path / "user"
    result = flywheel("preview", "--user", user_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    for row in latest.values():
        assert row["send_key"] in result.output
        reader = negotiate_locale(row["locale"])
        html = out / f"{gallery_name(row)}--{row['triggered_on']}--{reader}.html"
        assert f'lang="{reader}"' in html.read_text(encoding="utf-8")[:300]
    written = {p.name.rsplit("--", 1)[0] for p in out.glob("*--*.html")}
    assert written == {f"{gallery_name(r)}--{r['triggered_on']}" for r in latest.values()}


@pytest.mark.parametrize(
    ("option", "value"), [("--send-key", "usr_nobody:level_up:Gold"), ("--user", "usr_nobody")]
)
def test_preview_of_a_missing_send_key_or_user_names_it(flywheel, tmp_path, option, value):
    result = flywheel("preview", option, value, "--out", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert f"'{value}'" in result.output and "rpt_email_payloads" in result.output
    assert not (tmp_path / "missing").exists()


def test_preview_without_a_warehouse_says_so(flywheel, tmp_path):
    result = flywheel(
        "preview",
        "--send-key",
        "usr_000001:level_up:Gold",
        FLYWHEEL_WAREHOUSE=str(tmp_path / "none.duckdb"),
    )
    assert result.exit_code == 1 and "no warehouse at" in result.output


# --- the gallery's samples -------------------------------------------------------------------


def test_gallery_samples_are_the_typical_and_extreme_real_emails(demo_pipeline, warehouse):
    samples, note = gallery_samples(Settings(_env_file=None, FLYWHEEL_WAREHOUSE=str(warehouse)))
    assert str(warehouse) in note
    rows = payload_rows(demo_pipeline)
    variants = {
        f"{variant.trigger_type}__{variant.variant_id}": variant.trigger_type
        for of_trigger in email_variants().values()
        for variant in of_trigger
        if variant.has_own_template
    }
    assert variants
    assert {s.template for s in samples} == set(trigger_types()) | set(variants)
    for name, trigger_type in variants.items():  # the trigger type's samples, as the variant
        of_variant = [(s.scenario, s.description) for s in samples if s.template == name]
        own = [(s.scenario, s.description) for s in samples if s.template == trigger_type]
        assert of_variant == own
    for template in trigger_types():
        of_type = [r for r in rows if r["trigger_type"] == template]
        mine = {s.scenario: s for s in samples if s.template == template}
        if not of_type:
            assert {s.source for s in mine.values()} == {"fixture"}
            continue
        assert next(iter(mine)) == "typical"
        assert {s.source for s in mine.values()} == {"warehouse"}

        def figure(row):
            value = row["detail_value"]
            return value if value is not None else row["team_hours_saved_28d"]

        figures = [figure(r) for r in of_type if figure(r) is not None]
        typical = figure(mine["typical"].payload)
        assert sum(f < typical for f in figures) <= len(figures) / 2, template
        assert sum(f > typical for f in figures) <= len(figures) / 2, template
        if "largest" in mine:  # else the typical one is also the largest
            assert figure(mine["largest"].payload) == max(figures), template
        longest = max(len(r["first_name"]) for r in of_type if r["first_name"])
        shown = [len(s.payload["first_name"] or "") for s in mine.values()]
        assert longest in shown, template
        for has, what in (
            (lambda p: p["recommendation_1"] is None, "no recommendation"),
            (lambda p: p["recommendation_2"] is not None, "two recommendations"),
        ):
            if any(has(r) for r in of_type):
                assert any(has(s.payload) for s in mine.values()), (template, what)

    for sample in samples:
        payload = sample.payload
        if sample.source == "warehouse":
            assert payload["email"] == PREVIEW_ADDRESS
        if payload["current_streak_days"] is not None:
            assert payload["longest_streak_days"] >= payload["current_streak_days"]


def test_preview_gallery_from_the_warehouse(warehouse, flywheel, tmp_path):
    before = digest(warehouse)
    out = tmp_path / "gallery"
    result = flywheel("preview", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert digest(warehouse) == before
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f"real e-mails of {warehouse}" in index
    samples, _ = gallery_samples(Settings(_env_file=None, FLYWHEEL_WAREHOUSE=str(warehouse)))
    assert len(list((out / "locales").glob("*.html"))) == len(samples)
    assert index.count('class="email"') == 3 * len(samples)


# --- flywheel send-test ----------------------------------------------------------------------


def test_send_test_through_the_outbox_never_touches_the_ledger(
    demo_pipeline, warehouse, flywheel, tmp_path
):
    [payload] = payload_rows(demo_pipeline, "locale = 'en' order by send_key limit 1")
    key = payload["send_key"]
    before, warehouse_digest = ledger(demo_pipeline), digest(warehouse)
    assert before, "the demo run sent nothing: the ledger check would prove nothing"

    for _ in range(2):
        result = flywheel("send-test", "--to", TESTER, "--send-key", key, "--locale", "ru")
        assert result.exit_code == 0, result.output
        assert "outbox" in result.output

    assert ledger(demo_pipeline) == before
    assert digest(warehouse) == warehouse_digest
    messages = [
        message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in sorted((tmp_path / "outbox").glob("*.eml"))
    ]
    assert len(messages) == 2, "each test is a message of its own"
    test_keys = {message["X-Flywheel-Send-Key"] for message in messages}
    assert len(test_keys) == 2 and key not in test_keys
    _, _, period = key.partition(":")
    for message in messages:
        assert message["X-Flywheel-Send-Key"].startswith("test-")
        assert message["X-Flywheel-Send-Key"].endswith(":" + period)
        assert message["Subject"].startswith(TEST_SUBJECT_PREFIX)
        assert message[TEST_HEADER] == "true"
        assert message["To"].addresses[0].addr_spec == TESTER
        assert message["X-Flywheel-Send-At"] is None, "a test is sent now, not scheduled"
        html = message.get_body(("html",)).get_content()
        assert 'lang="ru"' in html[:300] and "Отписаться" in html
        settings = Settings(_env_file=None)
        assert unsubscribe_address(html, settings) == TESTER


def test_send_test_over_sendgrid_http_sends_now_marked_as_a_test(
    demo_pipeline, warehouse, flywheel
):
    [payload] = payload_rows(demo_pipeline, "locale = 'fr' order by send_key limit 1")
    before, warehouse_digest = ledger(demo_pipeline), digest(warehouse)
    with FakeSendGrid(API_KEY) as server:
        result = flywheel(
            "send-test",
            "--to",
            TESTER,
            "--send-key",
            payload["send_key"],
            FLYWHEEL_EMAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY=API_KEY,
            SENDGRID_API_HOST=server.host,
            FLYWHEEL_POSTAL_ADDRESS="Flywheel SAS, 1 rue de l'Exemple, 75001 Paris",
            FLYWHEEL_SECRET_KEY=SECRET_KEY,
        )
        assert result.exit_code == 0, result.output
        assert API_KEY not in result.output
        [message] = server.delivered()
        assert server.request_count("/v3/mail/batch") == 0
    assert message.to == (TESTER,)
    assert message.subject.startswith(TEST_SUBJECT_PREFIX)
    assert message.headers[TEST_HEADER] == "true"
    assert message.send_key.startswith("test-") and message.send_key != payload["send_key"]
    assert message.send_key.partition(":")[2] == payload["send_key"].partition(":")[2]
    assert message.batch_id is None and message.send_at is None, "a test is sent now"
    assert not message.sandbox
    assert ledger(demo_pipeline) == before
    assert digest(warehouse) == warehouse_digest


def test_send_test_refuses_a_bad_address_or_a_missing_send_key(demo_pipeline, flywheel, tmp_path):
    [payload] = payload_rows(demo_pipeline, "true order by send_key limit 1")
    bad = flywheel("send-test", "--to", "not an address", "--send-key", payload["send_key"])
    assert bad.exit_code == 1 and "address" in bad.output
    missing = flywheel("send-test", "--to", TESTER, "--send-key", "usr_nobody:level_up:Gold")
    assert missing.exit_code == 1 and "'usr_nobody:level_up:Gold'" in missing.output
    assert not (tmp_path / "outbox").exists()


# --- flywheel docs-pictures ------------------------------------------------------------------


def test_docs_pictures_show_the_typical_email_of_each_trigger_type(
    demo_pipeline, warehouse, flywheel, tmp_path
):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    docs = tmp_path / "docs"
    result = flywheel("docs-pictures", "--out", str(docs), "--chromium", CHROMIUM)
    assert result.exit_code == 0, result.output
    page = (docs / "emails.md").read_text(encoding="utf-8")
    samples, _ = gallery_samples(Settings(_env_file=None, FLYWHEEL_WAREHOUSE=str(warehouse)))
    typical = [s for s in samples if s.scenario == "typical" and s.template in trigger_types()]
    assert typical
    pictures = {}
    for sample in typical:
        email = render_email({**sample.payload, "locale": "en"}, Settings(_env_file=None))
        assert f"## {sample.template}\n" in page
        assert f"- Subject: {email.subject}\n" in page
        assert f"- Preheader: {email.preheader}\n" in page
        assert f"](emails/{sample.template}.png)" in page
        pictures[sample.template] = (docs / "emails" / f"{sample.template}.png").read_bytes()
    assert len(list((docs / "emails").glob("*.png"))) == len(typical)

    # The command's own Chromium has quit: one to decode the pictures with.
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for template, data in pictures.items():
            width, height = png_size(data)
            assert width == 640 and height > 500, template
            assert distinct_colours(browser, data) > 50, f"the picture of {template} is blank"
        browser.close()
