"""E-mail rendering: languages and plural forms, formatting, complete catalogs, escaping,
header safety, unsubscribe, at most two recommendations, fallbacks and loud failures."""

import base64
import csv
import email
import html
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlsplit

import css_inline
import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import TemplateRuntimeError, UndefinedError, nodes
from markupsafe import escape

from orchestration.emails.groups import email_group, trigger_types
from orchestration.emails.i18n import (
    BABEL_CFG,
    SUPPORTED_LOCALES,
    TEMPLATES_DIR,
    Formatter,
    catalog_path,
    negotiate_locale,
)
from orchestration.emails.inline import protect
from orchestration.emails.preview import PREVIEW_LOCALES, base_payload, sample_payloads
from orchestration.emails.render import (
    PAYLOAD_COLUMNS,
    PayloadError,
    Renderer,
    app_link,
    build_environment,
    get_renderer,
    render_email,
    unsubscribe_url,
)
from orchestration.emails.unsubscribe_token import (
    InvalidToken,
    UnsubscribeTarget,
    make_token,
    read_token,
)
from orchestration.settings import DEMO_POSTAL_ADDRESS, REPO_ROOT, Settings

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
MODELS_YML = REPO_ROOT / "dbt_project" / "models" / "reports" / "_reports__models.yml"
SAMPLES = sample_payloads()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


def payload(template: str, locale: str = "en", **overrides):
    """The first preview sample of `template`, in `locale`, with `overrides`."""
    base = next(p for _, _, p in SAMPLES if p["template"] == template)
    return {**base, "locale": locale, **overrides}


def rendered(template: str, locale: str = "en", **overrides):
    return render_email(payload(template, locale, **overrides), Settings())


# --- languages, plural forms and formatting ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "В этом месяце вы создали 1 отчёт!"),
        (2, "В этом месяце вы создали 2 отчёта!"),
        (5, "В этом месяце вы создали 5 отчётов!"),
        (11, "В этом месяце вы создали 11 отчётов!"),
        (21, "В этом месяце вы создали 21 отчёт!"),
        (1000, "В этом месяце вы создали 1\xa0000 отчётов!"),
    ],
)
def test_russian_has_three_plural_forms(value, expected):
    email_ = rendered(
        "milestone_reached", "ru", detail_metric="reports_generated", detail_value=value
    )
    assert email_.subject == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [(1, "1 день подряд!"), (2, "2 дня подряд!"), (5, "5 дней подряд!"), (21, "21 день подряд!")],
)
def test_russian_streak_subjects(days, expected):
    assert rendered("streak_milestone", "ru", detail_value=days).subject == expected


@pytest.mark.parametrize(
    ("steps", "french", "english"),
    [
        (0, "Vous avez terminé 0 étape de configuration", "You've completed 0 setup steps"),
        (1, "Vous avez terminé 1 étape de configuration", "You've completed 1 setup step"),
        (2, "Vous avez terminé 2 étapes de configuration", "You've completed 2 setup steps"),
    ],
)
def test_french_uses_the_singular_for_zero_and_one(steps, french, english):
    assert rendered("onboarding_stuck", "fr", detail_value=steps).text.startswith(french)
    assert rendered("onboarding_stuck", "en", detail_value=steps).text.startswith(english)


@pytest.mark.parametrize(
    ("best", "russian", "french"),
    [
        (1, "рекорд в 1 задачу.", "précédent record de 1 tâche."),
        (2, "рекорд в 2 задачи.", "précédent record de 2 tâches."),
        (5, "рекорд в 5 задач.", "précédent record de 5 tâches."),
        (21, "рекорд в 21 задачу.", "précédent record de 21 tâches."),
    ],
)
def test_personal_best_names_the_previous_best(best, russian, french):
    assert russian in rendered("personal_best", "ru", previous_best=best).text
    assert french in rendered("personal_best", "fr", previous_best=best).text
    english = rendered("personal_best", previous_best=best).text
    assert f"You beat your previous best of {best} task{'' if best == 1 else 's'}." in english
    lead = rendered("personal_best", "ru", previous_best=best).text.split("\n\n")[2]
    assert lead.startswith("Вы побили") and lead.endswith(". Это ваша лучшая неделя. Так держать!")
    without = rendered("personal_best", previous_best=None).text.split("\n\n")[2]
    assert without == "This is your best week yet. Keep the momentum going!"


@pytest.mark.parametrize(
    ("done", "russian", "french"),
    [
        (0, "Выполнено 0 шагов настройки из 5", "0 étape de configuration terminée sur 5"),
        (1, "Выполнен 1 шаг настройки из 5", "1 étape de configuration terminée sur 5"),
        (2, "Выполнено 2 шага настройки из 5", "2 étapes de configuration terminées sur 5"),
        (5, "Выполнено 5 шагов настройки из 5", "5 étapes de configuration terminées sur 5"),
    ],
)
def test_onboarding_shows_steps_done_of_required(done, russian, french):
    steps = {"onboarding_steps_done": done, "onboarding_steps_required": 5}
    for format_ in ("text", "html"):
        assert russian in getattr(rendered("onboarding_stuck", "ru", **steps), format_)
        assert french in getattr(rendered("onboarding_stuck", "fr", **steps), format_)
    assert f"{done} of 5 setup steps done" in rendered("onboarding_stuck", **steps).text
    unknown = {"onboarding_steps_done": None, "onboarding_steps_required": None}
    assert "setup steps done" not in rendered("onboarding_stuck", **unknown).text


def test_weekly_report_shows_the_reported_week():
    week = {"week_tasks": 21, "week_workflows": 2, "week_reports": 5, "week_hours_saved": 1.5}
    en = rendered("weekly_report", **week).text
    assert "Last week: Feb 23\u2009–\u2009Mar 1, 2026" in en  # month and year said once
    assert "* 21 tasks\n* 2 workflows\n* 5 reports" in en
    assert "* 1.5 hours saved that week" in en
    assert "THIS MONTH SO FAR" not in en and "45 tasks" not in en
    fr = rendered("weekly_report", "fr", **week).text
    assert "Semaine dernière\xa0: 23 févr.\u2009–\u20091 mars 2026" in fr
    assert "* 1,5\xa0heure de temps gagné sur la semaine" in fr  # CLDR: fr "one": 0 ≤ n < 2
    ru = rendered("weekly_report", "ru", **{**week, "week_tasks": 22, "week_hours_saved": 5.0})
    assert "Прошлая неделя: 23 февр. – 1 мар. 2026\u202fг." in ru.html
    assert "* 22 задачи" in ru.text and "* 5 часов сэкономлено за неделю" in ru.text
    short = rendered("weekly_report", "ru", **{**week, "week_hours_saved": 0.4}).text
    assert "* 24 минуты сэкономлено за неделю" in short  # under an hour: minutes
    without_week = {k: None for k in ("week_start", "week_end", *week)}
    assert "* 45 tasks" in rendered("weekly_report", **without_week).text  # month to date


@pytest.mark.parametrize(
    ("users", "russian", "french"),
    [
        (1, "Ваша команда за март: 1 активный пользователь", "1 utilisateur actif"),
        (2, "Ваша команда за март: 2 активных пользователя", "2 utilisateurs actifs"),
        (5, "Ваша команда за март: 5 активных пользователей", "5 utilisateurs actifs"),
        (21, "Ваша команда за март: 21 активный пользователь", "21 utilisateurs actifs"),
    ],
)
def test_monthly_team_report_names_its_month_and_counts_its_users(users, russian, french):
    march = {"report_month": "2026-03-01", "team_hours_saved_month": None}
    quiet = {**march, "team_active_users": users, "team_seats": None}
    assert rendered("monthly_team_report", "ru", **quiet).subject == russian
    assert rendered("monthly_team_report", "fr", **quiet).subject == (
        f"Votre équipe en mars\xa0: {french}"
    )
    busy = {**march, "team_hours_saved_month": 38.5}
    assert rendered("monthly_team_report", **busy).subject == "Your team saved 38.5 hours in March"
    assert rendered("monthly_team_report", "ru", **busy).subject == (
        "Ваша команда сэкономила 38,5 часа за март"
    )
    assert rendered("monthly_team_report", "fr", **busy).subject == (
        "Votre équipe a gagné 38,5\xa0heures en mars"
    )


def test_monthly_team_report_shows_the_team_and_hides_what_it_lacks():
    en = rendered("monthly_team_report")
    assert en.text.count("utm_campaign=monthly_team_report") == 2  # the button and the card
    assert "Seats in use: 12 of 15" in en.text and "* 12 active users" in en.text
    assert "In February, your team completed 347 tasks, 15% more than the average" in en.text
    assert "* Getting set up: 2 people\n* Building the habit: 5 people" in en.text
    assert "* Bringing in colleagues: 1 person" in en.text
    assert "1. Marc: 12.5 hours saved\n2. Anna: 9 hours saved\n3. Léa: 45 minutes saved" in en.text
    assert "NEXT STEPS FOR YOUR TEAM\n- Connect your CRM" in en.text
    assert "Seats in use: 12 of 15 · Top contributor: Marc" in en.html  # the preheader
    ru = rendered("monthly_team_report", "ru").text
    assert "* Первые шаги: 2 человека\n* Формирование привычки: 5 человек" in ru
    assert "3. Léa: 45 минут экономии" in ru
    assert "За февраль ваша команда выполнила 347 задач — на 15\xa0% больше" in ru
    fr = rendered("monthly_team_report", "fr").text
    assert "* Ouverture à l’équipe\xa0: 1 personne" in fr
    assert "1. Marc\xa0: 12,5\xa0heures de temps gagné" in fr
    nothing = {
        "team_seats": None,
        "team_users_implement": None,
        "team_users_reinforce": None,
        "team_users_optimize": None,
        "team_users_expand": None,
        "top_contributor_1_name": None,
        "top_contributor_2_name": None,
        "top_contributor_3_name": None,
        "recommendation_1": None,
    }
    bare = rendered("monthly_team_report", **nothing)
    for absent in ("Seats in use", "WHERE YOUR TEAM STANDS", "TOP CONTRIBUTORS", "NEXT STEPS"):
        assert absent not in bare.text
    assert "Active users: 12" in bare.html and "Top contributor" not in bare.html
    assert 'class="team-list"' not in bare.html
    tasks_only = rendered("monthly_team_report", top_contributor_1_hours_saved=None).text
    assert "1. Marc: 64 tasks completed" in tasks_only


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "Saves about 1.5 hours a week"),
        ("fr", "Vous fait gagner environ 1,5\xa0heure par semaine"),  # fr "one": 0 ≤ n < 2
        ("ru", "Экономит примерно 1,5 часа в неделю"),  # fractions take the genitive singular
    ],
)
def test_fractions_take_the_right_plural_form(locale, expected):
    email_ = rendered("level_up", locale, recommendation_1_hours_per_week=1.5)
    assert expected in email_.text


def test_numbers_percentages_and_dates_follow_the_locale():
    en, fr, ru = Formatter("en"), Formatter("fr"), Formatter("ru")
    assert en.number(1234.56, 1) == "1,234.6"
    assert fr.number(1234.56, 1) == "1\u202f234,6"
    assert ru.number(1234.56, 1) == "1\xa0234,6"
    assert en.number(42.0, 1) == "42"  # no trailing zero
    assert en.percent(15.4) == "15%"
    assert fr.percent(15.4) == "15\xa0%"
    assert ru.percent(15.35, 1) == "15,4\xa0%"
    assert en.date("2026-03-02") == "March 2, 2026"
    assert fr.date("2026-03-02") == "2 mars 2026"
    assert ru.date("2026-03-02").startswith("2 марта 2026")
    assert en.plural_n(1.0) == 1 and en.plural_n(0.96, 1) == 1 and ru.plural_n(1.5, 1) == 2
    assert Formatter.text_bar(40) == "[########------------]"

    report = {loc: rendered("weekly_report", loc) for loc in ("en", "fr", "ru")}
    assert "March 2, 2026" in report["en"].text
    assert "2 mars 2026" in report["fr"].text
    assert "2 марта 2026" in report["ru"].text
    assert "347 tasks this month, 15% more than the average" in report["en"].text
    assert "347 tâches ce mois-ci, soit 15\xa0% de plus" in report["fr"].text
    assert "347 задач — на 15\xa0% больше" in report["ru"].text
    assert "Automation saved you 42 hours this quarter." in report["en"].text
    assert "That's at least 1 full work week." in report["en"].text


def test_locales_are_negotiated_and_unknown_ones_fall_back_to_english():
    assert negotiate_locale("fr-CA") == "fr"
    assert negotiate_locale("ru_RU") == "ru"
    assert negotiate_locale("de") == negotiate_locale(None) == negotiate_locale("") == "en"
    german, english = rendered("level_up", "de"), rendered("level_up", "en")
    assert german.locale == "en"
    assert german.subject == english.subject == "You've reached the Pro level!"
    assert '<html lang="en"' in german.html
    assert rendered("level_up", "fr-CA").subject == "Vous avez atteint le niveau Pro\xa0!"


# --- every template, every language -------------------------------------------------------


@pytest.mark.parametrize("locale", PREVIEW_LOCALES)
@pytest.mark.parametrize(
    ("scenario", "sample"),
    [(f"{p['template']}-{s}", p) for s, _, p in SAMPLES],
    ids=[f"{p['template']}-{s}" for s, _, p in SAMPLES],
)
def test_every_template_renders_in_every_locale(scenario, sample, locale, settings):
    email_ = render_email({**sample, "locale": locale}, settings)
    lang = negotiate_locale(locale)
    assert email_.locale == lang
    assert email_.subject and email_.subject == email_.subject.strip()
    assert f'<html lang="{lang}"' in email_.html
    assert f"<title>{escape(email_.subject)}</title>" in email_.html
    for body in (email_.text, email_.html):
        for leftover in ("None", "NaN", "{{", "{%", "{#", "Undefined", "%("):
            assert leftover not in body, (scenario, locale, leftover)
    assert email_.text.count("\n\n\n") == 0


def test_every_real_payload_shape_renders(settings):
    """Every ladder, level and requirement of the seeds and every recommendation has words."""
    with (SEEDS / "gamification_levels.csv").open() as f:
        levels = list(csv.DictReader(f))
    with (SEEDS / "recommendations.csv").open() as f:
        recommendations = [row["recommendation"] for row in csv.DictReader(f)]
    for locale in SUPPORTED_LOCALES:
        for row in levels:
            email_ = render_email(
                payload(
                    "level_up",
                    locale,
                    ladder=row["ladder"],
                    level=row["level"],
                    next_level=row["level"],
                    next_requirement=row["requirement"],
                    remaining_to_next=2.5,
                ),
                settings,
            )
            assert email_.subject
        for recommendation in recommendations:
            email_ = render_email(
                payload("weekly_report", locale, recommendation_1=recommendation), settings
            )
            assert email_.html.count('class="rec"') == 2


# --- catalogs -----------------------------------------------------------------------------


def _extracted_messages() -> set[str | tuple[str, ...]]:
    with BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {
        message
        for _, _, message, _, _ in extract_from_dir(str(TEMPLATES_DIR), method_map, options_map)
    }


@pytest.mark.parametrize("lang", ["fr", "ru"])
def test_every_message_is_translated(lang):
    extracted = _extracted_messages()
    assert len(extracted) > 100
    with catalog_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    ids = {message.id for message in catalog if message.id}
    missing = extracted - ids
    assert not missing, f"not in the {lang} catalog (pybabel update, see README): {missing}"
    assert not ids - extracted, f"stale messages in the {lang} catalog: {ids - extracted}"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated in {lang}: {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy in {lang}: {message.id!r}"
        if message.pluralizable:
            assert len(strings) == catalog.num_plurals, message.id
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert not problems, problems  # e.g. a placeholder that differs from the msgid


def test_english_catalog_lists_every_message():
    with catalog_path("en").open("rb") as f:
        ids = {m.id for m in read_po(f, locale="en") if m.id}
    assert ids == _extracted_messages()


# --- safety -------------------------------------------------------------------------------


def test_html_escapes_the_first_name(settings):
    name = "<script>alert(1)</script>"
    for template in trigger_types():
        email_ = render_email(payload(template, first_name=name), settings)
        assert "<script>" not in email_.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email_.html
        assert name in email_.text  # plain text is not HTML
        assert email_.to_name == name


@pytest.mark.parametrize("separator", ["\r\n", "\n", "\r", "\u2028", "\x0b", "\x85"])
def test_no_input_can_add_a_header(separator, settings):
    evil = f"Anna{separator}Bcc: x@y.example"
    email_ = render_email(payload("inactive_nudge", first_name=evil), settings)
    assert "Bcc" in email_.subject  # the first name is in this subject...
    assert not re.search(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", email_.subject)
    assert not re.search(r"[\r\n]", email_.to_name)

    message = EmailMessage()
    message["From"] = f"{settings.from_name} <{settings.from_email}>"
    message["To"] = email_.to_email
    message["Subject"] = email_.subject
    for header, value in email_.headers.items():
        message[header] = value
    message.set_content(email_.text)
    parsed = email.message_from_bytes(message.as_bytes(), policy=default_policy)
    assert parsed["Bcc"] is None  # ...and cannot become a header
    assert "Bcc: x@y.example" in parsed["Subject"]


def test_unsubscribe_link_and_headers(settings):
    secret = settings.unsubscribe_secret()
    for locale in PREVIEW_LOCALES:
        for template in trigger_types():
            sample = payload(template, locale)
            email_ = render_email(sample, settings)
            url = email_.headers["List-Unsubscribe"].removeprefix("<").removesuffix(">")
            assert f'href="{url}"' in email_.html
            assert url in email_.text
            assert email_.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            # nothing about the recipient in clear: no address, user id or send key
            user_id = email_.send_key.split(":")[0]
            for clear in (email_.to_email, quote(email_.to_email), user_id, email_.send_key):
                assert clear not in url
            token = parse_qs(urlsplit(url).query)["token"][0]
            assert url == unsubscribe_url(settings, token)
            assert read_token(secret, token) == UnsubscribeTarget(
                email_.to_email, email_group(sample["trigger_type"]), email_.locale
            )


def test_a_changed_token_or_another_key_is_refused(settings):
    target = UnsubscribeTarget("ada@example.com", "tips", "fr")
    token = make_token(settings.unsubscribe_secret(), target)
    assert read_token(settings.unsubscribe_secret(), token) == target
    for position in range(len(token)):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1 :]
        if base64.urlsafe_b64decode(tampered + "==") == base64.urlsafe_b64decode(token + "=="):
            continue  # the last character's unused bits: the same bytes
        with pytest.raises(InvalidToken):
            read_token(settings.unsubscribe_secret(), tampered)
    with pytest.raises(InvalidToken):
        read_token(b"another-secret-key-of-at-least-32-characters", token)
    for garbage in ("", "not a token", "%%%", "A" * 2000, token[:20]):
        with pytest.raises(InvalidToken):
            read_token(settings.unsubscribe_secret(), garbage)


def test_postal_address_in_both_footers():
    address = "Flywheel SAS · 12 rue de la Paix, 75002 Paris"
    with_address = Settings(_env_file=None, FLYWHEEL_POSTAL_ADDRESS=address)
    for template in trigger_types():
        email_ = render_email(payload(template, "ru"), with_address)
        assert address in email_.text.split("\n--\n", 1)[1]
        footer = email_.html[email_.html.index('class="footer"') :]
        assert str(escape(address)) in footer
    demo = render_email(payload("level_up"), Settings(_env_file=None))
    assert DEMO_POSTAL_ADDRESS in demo.text and str(escape(DEMO_POSTAL_ADDRESS)) in demo.html


def _css_colours(selector: str) -> dict[str, str]:
    style = (REPO_ROOT / "email_templates" / "layouts" / "base.html").read_text()
    rule = re.search(r"^" + re.escape(selector) + r" \{([^}]*)\}", style, re.MULTILINE)
    assert rule, selector
    return dict(re.findall(r"(color|background-color):\s*(#[0-9a-fA-F]{6})", rule.group(1)))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_ratio_formula():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#9ca3af", "#ffffff") == pytest.approx(2.54, abs=0.01)


def test_footer_text_meets_wcag_aa_contrast():
    background = _css_colours(".container")["background-color"]
    assert "background-color" not in _css_colours(".footer")  # the container's shows through
    for selector in (".footer-text", ".footer-link"):
        assert contrast_ratio(_css_colours(selector)["color"], background) >= 4.5, selector


def test_the_preheader_is_followed_by_a_hidden_spacer():
    html = rendered("weekly_report", "fr").html
    preheader = re.search(r'<div class="preheader"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert preheader and "display: none" in preheader.group(0)
    text = preheader.group(1)
    spacer = "\u034f\u200c&nbsp;"  # &#847;&zwnj;&nbsp; once css-inline has parsed them
    visible, _, rest = text.partition(spacer)
    assert visible.strip() and spacer not in visible
    assert (spacer + rest).count(spacer) >= 40 and rest.endswith(spacer)


def test_at_most_two_recommendation_cards(settings):
    counts = set()
    for _, _, sample in SAMPLES:
        email_ = render_email(sample, settings)
        expected = sum(sample[f"recommendation_{i}"] is not None for i in (1, 2))
        assert email_.html.count('class="rec"') == expected <= 2
        counts.add(expected)
    assert counts == {0, 1, 2}


def test_nan_from_a_data_frame_counts_as_null(settings):
    email_ = render_email(
        payload("level_up", recommendation_2=float("nan"), cohort_avg_tasks=float("nan")),
        settings,
    )
    assert email_.html.count('class="rec"') == 1


def test_comparisons_never_shame(settings):
    below = rendered("weekly_report", account_pct_vs_cohort_avg=-25.0, user_pct_vs_team_avg=-40.0)
    assert "more than the average" not in below.text
    assert "teammates" not in below.text
    assert "Your team completed 347 tasks this month." in below.text
    anonymised = rendered(
        "weekly_report",
        cohort_scope=None,
        account_pct_vs_cohort_avg=None,
        account_is_top_percent=None,
    )
    assert "companies of your size" not in anonymised.text
    assert "Your team completed 347 tasks this month." in anonymised.text


def test_comparisons_far_ahead_say_a_multiple_and_name_their_cohort(settings):
    ahead = rendered(
        "weekly_report",
        cohort_scope="similar_size",
        account_pct_vs_cohort_avg=410.0,
        account_vs_cohort_is_capped=True,
        user_pct_vs_team_avg=2657.0,
        user_vs_team_is_capped=True,
    )
    assert "more than 3× the average of companies of a similar size" in ahead.text
    assert "more than 3× your teammates' average" in ahead.text
    assert "2,657" not in ahead.text and "410" not in ahead.text
    everyone = rendered("weekly_report", cohort_scope="all_accounts", locale="fr")
    assert "moyenne des entreprises qui utilisent le produit" in everyone.text


def test_badges_are_celebrated_and_listed(settings):
    badge = rendered("milestone_reached", detail_badge="power_user", locale="ru")
    assert badge.subject == "Вы получили значок «Продвинутый пользователь»!"
    weekly = rendered("weekly_report", new_badges="streak_14,power_user")
    assert "New badges: 14-day streak, Power User" in weekly.text
    assert "New badge" not in rendered("weekly_report", new_badges=None).text


def test_the_top_of_a_ladder_points_to_the_next_one(settings):
    top = {"level": "Integrator", "ladder": "onboarding", "next_level": None}
    onward = rendered("level_up", **top, next_ladder="usage_tier", next_ladder_next_level="Silver")
    pointer = "That's the top of the Onboarding ladder. Next: Silver on the Usage ladder."
    assert pointer in onward.text
    assert "highest level there is" not in onward.text
    last = rendered("level_up", level="Advocate", ladder="mastery", next_level=None)
    assert "That's the highest level there is." in last.text


# --- failing loudly -----------------------------------------------------------------------


def test_a_payload_missing_a_column_fails(settings):
    incomplete = payload("weekly_report")
    del incomplete["tasks_mtd"]
    with pytest.raises(PayloadError, match="tasks_mtd"):
        render_email(incomplete, settings)


def test_undefined_variables_raise():
    env = build_environment("en")
    without_level = {k: v for k, v in payload("level_up").items() if k != "level"}
    links = {
        "unsubscribe_url": "",
        "cta_url": "",
        "recommendation_1_url": "",
        "recommendation_2_url": "",
    }
    copy = {"headline": "", "lead": "", "greeting": "", "brand": "", "postal_address": "", **links}
    with pytest.raises(UndefinedError, match="'level' is undefined"):
        env.get_template("level_up.txt").render(without_level, **copy)
    with pytest.raises(UndefinedError):
        env.from_string("{{ not_a_column }}").render()


def test_unknown_keys_fail_instead_of_sending_english(settings):
    with pytest.raises(UndefinedError):
        render_email(payload("level_up", "fr", level="Wizard"), settings)
    with pytest.raises(TemplateRuntimeError, match="requirement"):
        render_email(payload("level_up", next_requirement="lines of code"), settings)
    with pytest.raises(ValueError, match="no e-mail template"):
        render_email({**payload("level_up"), "template": "birthday"}, settings)


# --- contract with the payload model and with the template rules ---------------------------


def test_payload_columns_match_the_model_documentation():
    models = yaml.safe_load(MODELS_YML.read_text())["models"]
    model = next(m for m in models if m["name"] == "rpt_email_payloads")
    documented = [column["name"] for column in model["columns"]]
    assert set(PAYLOAD_COLUMNS) <= set(documented)
    assert list(base_payload()) == documented  # the previews carry every column


class _Canonical(HTMLParser):
    """A document as (tag, sorted attributes) and text events: attribute order and
    whitespace between elements do not matter."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, tuple(sorted(attrs))))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        if data.strip():
            self.events.append(("text", " ".join(data.split())))


def test_inlining_at_load_time_equals_inlining_each_email(settings):
    raw = Renderer(inline_css=False)
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    for _, _, sample in SAMPLES:
        for locale in SUPPORTED_LOCALES:
            row = {**sample, "locale": locale}
            expected = inliner.inline(raw.render(row, settings).html)
            actual = get_renderer().render(row, settings).html
            assert _Canonical(actual).events == _Canonical(expected).events
    html = rendered("weekly_report").html
    assert 'class="h1" style="' in html and "font-size: 24px" in html
    assert "@media" in html  # kept for the clients that read <style>


def test_the_inliner_refuses_jinja_it_cannot_keep_in_place():
    with pytest.raises(Exception, match="class attribute"):
        protect('<td class="a {% if x %}b{% endif %}">')
    with pytest.raises(Exception, match="quoted attribute"):
        protect("<td {% if x %}hidden{% endif %}>")


ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)


def test_templates_do_no_arithmetic():
    env = build_environment("en", inline_css=False)
    for path in TEMPLATES_DIR.rglob("*"):
        if path.suffix in (".html", ".txt", ".jinja") and "locale" not in path.parts:
            source = path.read_text(encoding="utf-8")
            tree = env.parse(source)
            found = [type(node).__name__ for node in tree.find_all(ARITHMETIC)]
            assert not found, f"{path.relative_to(TEMPLATES_DIR)} computes: {found}"


def test_every_email_has_a_call_to_action_with_utm_parameters(settings):
    for _, _, sample in SAMPLES:
        email_ = render_email(sample, settings)
        links = [
            url for url in re.findall(r'href="([^"]+)"', email_.html) if "unsubscribe" not in url
        ]
        assert links, sample["send_key"]
        for url in links:
            query = parse_qs(urlsplit(html.unescape(url)).query)
            assert url.startswith("https://app.flywheel.example.com/"), url
            assert query["utm_source"] == ["flywheel"] and query["utm_medium"] == ["email"]
            assert query["utm_campaign"] == [sample["trigger_type"]]
            assert query["utm_content"][0] in {
                sample["cta_id"],
                sample["recommendation_1_cta_id"],
                sample["recommendation_2_cta_id"],
            }
        assert html.unescape(links[0]) in email_.text  # the plain text carries the button's link


def test_a_path_with_its_own_query_keeps_it():
    url = app_link(
        Settings().app_url, "/automations/new?template=report", "level_up", "automate_reports"
    )
    assert url == (
        "https://app.flywheel.example.com/automations/new?template=report&utm_source=flywheel"
        "&utm_medium=email&utm_campaign=level_up&utm_content=automate_reports"
    )
