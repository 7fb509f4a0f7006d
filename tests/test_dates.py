"""parsers.dates: one date out of a snippet, resolved against the fetch time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from parsers.dates import looks_like_date, parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-01-03 10:00 in Shanghai.
FETCHED = dt.datetime(2026, 1, 3, 2, 0, tzinfo=dt.UTC)


def d(text: str) -> dt.date | None:
    return parse_date(text, FETCHED)


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-08",
        "2025/1/8",
        "2025/01/08",
        "2025.01.08",
        "2025-1-8",
        "2025年1月8日",
        "2025年01月08日",
        "2025 年 1 月 8 日",
        "2025年1月8号",
        "发布时间：2025年01月08日",
        "[2025-01-08]",
        "【2025-01-08】",
        "（2025/1/8）",
        "(2025-01-08)",
        "Title text 2025-01-08",
        "2025-01-08 Title text",
        "2025-01-08 10:20:33",
        "2025-01-08 10:20",
        "2025年1月8日 10:20",
        "２０２５年１月８日",
        "２０２５－０１－０８",
        "２０２５／０１／０８",
        "20250108",
        "发布于20250108",
        "Jan 8, 2025",
        "Jan. 8, 2025",
        "January 8, 2025",
        "january 8 2025",
        "8 January 2025",
        "8th Jan 2025",
        "Posted on Jan 8, 2025",
    ],
)
def test_absolute_formats(text: str) -> None:
    assert d(text) == dt.date(2025, 1, 8)


def test_iso_datetime_with_offset_is_converted_to_the_source_zone() -> None:
    # 20:00 UTC on the 7th is 04:00 on the 8th in Shanghai.
    assert d("2025-01-07T20:00:00Z") == dt.date(2025, 1, 8)
    assert d("2025-01-08T02:00:00Z") == dt.date(2025, 1, 8)
    assert d("2025-01-07T23:30:00-05:00") == dt.date(2025, 1, 8)
    assert d("2025-01-08T23:30:00+08:00") == dt.date(2025, 1, 8)
    assert d("2025-01-08T23:30:00.123+0800") == dt.date(2025, 1, 8)
    # The same instant read for a source in New York is still the 7th.
    assert parse_date("2025-01-07T20:00:00Z", FETCHED, "America/New_York") == dt.date(2025, 1, 7)


def test_datetime_without_offset_is_already_local() -> None:
    assert d("2025-01-08T23:30:00") == dt.date(2025, 1, 8)
    assert d("2025-01-08 23:59:59") == dt.date(2025, 1, 8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01-08", dt.date(2025, 1, 8)),
        ("1-8", dt.date(2025, 1, 8)),
        ("[01-08]", dt.date(2025, 1, 8)),
        ("1月8日", dt.date(2025, 1, 8)),
        ("01/08", dt.date(2025, 1, 8)),
        ("Jan 8", dt.date(2025, 1, 8)),
        # Before today in this year.
        ("01-02", dt.date(2026, 1, 2)),
        ("01-03", dt.date(2026, 1, 3)),
        # Up to one day ahead is still this year (clock and zone slack) ...
        ("01-04", dt.date(2026, 1, 4)),
        # ... further ahead means last year.
        ("01-05", dt.date(2025, 1, 5)),
        ("12-30", dt.date(2025, 12, 30)),
        ("12月30日", dt.date(2025, 12, 30)),
        # Feb 29 goes back to the last leap year.
        ("02-29", dt.date(2024, 2, 29)),
    ],
)
def test_month_day_year_is_inferred_from_the_fetch_date(text: str, expected: dt.date) -> None:
    assert d(text) == expected


def test_month_day_on_new_years_eve_may_be_tomorrow() -> None:
    eve = dt.datetime(2025, 12, 31, 12, 0, tzinfo=SHANGHAI)
    assert parse_date("01-01", eve) == dt.date(2026, 1, 1)
    assert parse_date("12-31", eve) == dt.date(2025, 12, 31)


def test_today_is_the_fetch_date_in_the_source_zone_not_in_utc() -> None:
    # 2026-01-02 17:00 UTC is already 2026-01-03 01:00 in Shanghai.
    late = dt.datetime(2026, 1, 2, 17, 0, tzinfo=dt.UTC)
    assert parse_date("今天", late) == dt.date(2026, 1, 3)
    assert parse_date("今天", late, "UTC") == dt.date(2026, 1, 2)
    assert parse_date("昨天", late) == dt.date(2026, 1, 2)
    assert parse_date("2小时前", late) == dt.date(2026, 1, 2)  # 23:00 the day before


def test_naive_fetched_at_means_utc() -> None:
    naive = dt.datetime(2026, 1, 2, 17, 0)
    assert parse_date("今天", naive) == dt.date(2026, 1, 3)


def test_fetched_at_in_another_zone_is_converted() -> None:
    ny = dt.datetime(2026, 1, 2, 12, 0, tzinfo=ZoneInfo("America/New_York"))  # 17:00 UTC
    assert parse_date("今天", ny) == dt.date(2026, 1, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", dt.date(2026, 1, 3)),
        ("30秒前", dt.date(2026, 1, 3)),
        ("5分钟前", dt.date(2026, 1, 3)),
        ("3小时前", dt.date(2026, 1, 3)),
        ("3 小时前", dt.date(2026, 1, 3)),
        ("半小时前", dt.date(2026, 1, 3)),
        # 10:00 minus 11 hours crosses midnight.
        ("11小时前", dt.date(2026, 1, 2)),
        ("今天", dt.date(2026, 1, 3)),
        ("今日", dt.date(2026, 1, 3)),
        ("今天 10:20", dt.date(2026, 1, 3)),
        ("昨天", dt.date(2026, 1, 2)),
        ("昨天 10:20", dt.date(2026, 1, 2)),
        ("前天", dt.date(2026, 1, 1)),
        ("前天 08:00", dt.date(2026, 1, 1)),
        ("3天前", dt.date(2025, 12, 31)),
        ("两天前", dt.date(2026, 1, 1)),
        ("十一天前", dt.date(2025, 12, 23)),
        ("1周前", dt.date(2025, 12, 27)),
        ("just now", dt.date(2026, 1, 3)),
        ("5 minutes ago", dt.date(2026, 1, 3)),
        ("an hour ago", dt.date(2026, 1, 3)),
        ("11 hours ago", dt.date(2026, 1, 2)),
        ("2 days ago", dt.date(2026, 1, 1)),
        ("1 day ago", dt.date(2026, 1, 2)),
        ("Yesterday", dt.date(2026, 1, 2)),
        ("today", dt.date(2026, 1, 3)),
    ],
)
def test_relative_dates(text: str, expected: dt.date) -> None:
    assert d(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",
        "2025-13-01",
        "2025-00-10",
        "2025年2月30日",
        "2025-02-29",  # not a leap year
        "13-01",
        "02-30",
        "20251301",
        "Feb 30, 2025",
    ],
)
def test_invalid_calendar_dates_give_none(text: str) -> None:
    assert d(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "详情",
        "abc",
        "2025",
        "2025-01",
        "10:20",
        "3.14",
        "v1.2.3",
        "1-2-3",
        "电话 12345678",
        "id 120250108",  # eight digits inside a longer run are an id
        "2025010812",
        "3个月前",
        "99999999999999999999天前",
        "\x00\ufffd\u202e",
        "[" * 10_000,
        "2025-" * 2_000,
    ],
)
def test_no_date(text: str) -> None:
    assert d(text) is None


def test_non_string_is_not_a_date() -> None:
    assert parse_date(None, FETCHED) is None  # type: ignore[arg-type]


def test_first_date_wins() -> None:
    assert d("2025-01-08 更新于 2025-02-01") == dt.date(2025, 1, 8)
    assert d("01-08 / 2024-05-06") == dt.date(2025, 1, 8)
    assert d("昨天 2025-06-01") == dt.date(2026, 1, 2)


def test_an_invalid_date_does_not_fall_back_to_a_piece_of_itself() -> None:
    # "2025-02-30" must not be read as the month-day "02-30" or similar.
    assert d("2025-02-30") is None
    # But a later real date in the same text is still found.
    assert d("比分 3-35，2025-01-08") == dt.date(2025, 1, 8)


def test_result_is_a_plain_date() -> None:
    result = d("2025-01-08T02:00:00Z")
    assert type(result) is dt.date


def test_fetched_at_must_be_a_datetime() -> None:
    with pytest.raises(TypeError):
        parse_date("今天", dt.date(2026, 1, 3))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-08",
        "[01-08]",
        "01-08",
        "3小时前",
        "昨天 10:20",
        "2025年1月8日",
        "（2025/1/8）",
        "发布时间：2025-01-08",
        "发布日期: 2025-01-08 10:20:33",
        "2025-01-08 星期三",
        "【2025-01-08】",
        " 2025-01-08\n",
        "Jan 8, 2025",
        "2025-02-30",  # judged by shape: still the date cell
    ],
)
def test_looks_like_date(text: str) -> None:
    assert looks_like_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "详情",
        "生态文明贵阳国际论坛2025年年会开幕",
        "Title text 2025-01-08",
        "2025-01-08 Title text",
        "今日要闻：论坛开幕",
        "2025年度报告",
        "2025-01-08 2025-01-09",
        "1-2-3",
        "2025",
        "x" * 500,
    ],
)
def test_does_not_look_like_date(text: str) -> None:
    assert not looks_like_date(text)
