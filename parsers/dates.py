"""Find one publication date in a snippet of listing text.

Listing pages write dates in many shapes (``2025-01-08``, ``2025年1月8日``,
``[01-08]``, ``3小时前`` ...). Year-less and relative dates only mean something
relative to when the page was fetched, so parse_date takes ``fetched_at`` and
resolves against the fetch time in the source's zone, never against "now" (a
reparse months later must give the same dates).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["has_word", "looks_like_date", "parse_date"]

# NFKC folds full-width digits and punctuation; these hyphen look-alikes survive it.
# Em dashes are left alone: sites use them to separate a title from its date.
_HYPHENS = re.compile("[\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d]")

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_RE = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"(?P<y>(?:19|20)\d{2})"  # plausible years only, so ids and prices are not read as dates
_CN_NUM = r"(?P<n>[0-9]+|[一二两三四五六七八九十]+)"

_Context = tuple[dt.datetime, ZoneInfo]  # (fetched_at in UTC, source zone)
_Handler = Callable[[re.Match[str], _Context], dt.date | None]


def _local_now(ctx: _Context) -> dt.datetime:
    return ctx[0].astimezone(ctx[1])


def _ymd(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:  # 2025-02-30, month 13, ...
        return None


def _infer_year(month: int, day: int, ctx: _Context) -> dt.date | None:
    # The most recent such date not later than tomorrow: listings show recent items,
    # and one day of slack absorbs clock and zone differences at midnight.
    today = _local_now(ctx).date()
    limit = today + dt.timedelta(days=1)
    for year in range(today.year + 1, today.year - 9, -1):  # 8 years back reaches a Feb 29
        found = _ymd(year, month, day)
        if found is not None and found <= limit:
            return found
    return None


def _cn_int(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    digits = dict(zip("一二三四五六七八九", range(1, 10), strict=True)) | {"两": 2}
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones or (tens and tens not in digits) or (ones and ones not in digits):
            return None
        return (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)
    return digits.get(text) if len(text) == 1 else None


def _full_numeric(m: re.Match[str], ctx: _Context) -> dt.date | None:
    day = _ymd(int(m["y"]), int(m["m"]), int(m["d"]))
    if day is None or m["off"] is None or m["hh"] is None:
        return day
    # An explicit offset means the instant is not local: convert before taking the date.
    hour, minute, second = int(m["hh"]), int(m["mi"]), int(m["ss"] or 0)
    off = m["off"]
    if off.upper() == "Z":
        offset = dt.timedelta(0)
    else:
        digits = off[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if off[0] == "-":
            offset = -offset
    try:
        instant = dt.datetime(
            day.year, day.month, day.day, hour, minute, second, tzinfo=dt.timezone(offset)
        )
    except ValueError:  # junk time or offset: the written date is the best we have
        return day
    return instant.astimezone(ctx[1]).date()


def _full(m: re.Match[str], ctx: _Context) -> dt.date | None:
    return _ymd(int(m["y"]), int(m["m"]), int(m["d"]))


def _english_full(m: re.Match[str], ctx: _Context) -> dt.date | None:
    return _ymd(int(m["y"]), _MONTHS[m["mon"][:3].lower()], int(m["d"]))


def _month_day(m: re.Match[str], ctx: _Context) -> dt.date | None:
    return _infer_year(int(m["m"]), int(m["d"]), ctx)


def _english_month_day(m: re.Match[str], ctx: _Context) -> dt.date | None:
    return _infer_year(_MONTHS[m["mon"][:3].lower()], int(m["d"]), ctx)


def _days_back(days: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Context) -> dt.date | None:
        return _local_now(ctx).date() - dt.timedelta(days=days)

    return handler


_UNIT_SECONDS = {
    "秒": 1, "分": 60, "小时": 3600, "钟头": 3600, "天": 86400, "周": 604800, "星期": 604800,
    "sec": 1, "second": 1, "min": 60, "minute": 60, "hr": 3600, "hour": 3600,
    "day": 86400, "week": 604800,
}  # fmt: skip


def _ago(m: re.Match[str], ctx: _Context) -> dt.date | None:
    raw = m["n"].lower()
    amount = 1 if raw in ("a", "an", "one") else _cn_int(raw)
    if amount is None:
        return None
    seconds = _UNIT_SECONDS[m["unit"].lower()]
    try:
        if seconds >= 86400:  # days and weeks count calendar days in the local zone
            return _local_now(ctx).date() - dt.timedelta(days=amount * seconds // 86400)
        # Shorter spans are instants: subtract in UTC, then take the local date.
        return (ctx[0] - dt.timedelta(seconds=amount * seconds)).astimezone(ctx[1]).date()
    except OverflowError:  # "99999999999天前"
        return None


def _half_hour(m: re.Match[str], ctx: _Context) -> dt.date | None:
    return (ctx[0] - dt.timedelta(minutes=30)).astimezone(ctx[1]).date()


def _rx(pattern: str) -> re.Pattern[str]:
    # ASCII: _normalize leaves only ASCII digits and spaces; case-insensitive for English.
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


_ENGLISH_AGO_UNITS = r"(?P<unit>second|sec|minute|min|hour|hr|day|week)"

# Every rule runs; _first_date keeps the leftmost match, the longest one at a tie.
_RULES: list[tuple[re.Pattern[str], _Handler]] = [
    # 2025-01-08, 2025/1/8, 2025.01.08, with an optional time and UTC offset.
    (
        _rx(
            r"(?<!\d)" + _YEAR
            + r" ?(?P<sep>[-/.]) ?(?P<m>\d{1,2}) ?(?P=sep) ?(?P<d>\d{1,2})(?!\d)"
            r"(?:(?:T| +)(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:[.,]\d+)?)?"
            r"(?P<off>Z(?![a-z])|[+-]\d{2}(?::?\d{2})?(?!\d))?)?"
        ),
        _full_numeric,
    ),
    (
        _rx(r"(?<!\d)" + _YEAR + r" ?年 ?(?P<m>\d{1,2}) ?月 ?(?P<d>\d{1,2})(?: ?[日号]|(?!\d))"),
        _full,
    ),
    # 20250108 only as a whole token: inside longer digit runs it is an id, not a date.
    (_rx(r"(?<![0-9a-z])" + _YEAR + r"(?P<m>\d{2})(?P<d>\d{2})(?![0-9a-z])"), _full),
    # Jan 8, 2025 / January 8 2025 / 8 January 2025 / 8th Jan. 2025
    (
        _rx(
            r"(?<![a-z])" + _MONTH_RE
            + r"\.? ?(?P<d>\d{1,2})(?:st|nd|rd|th)? ?,? ?" + _YEAR + r"(?!\d)"
        ),
        _english_full,
    ),
    (
        _rx(
            r"(?<![0-9a-z])(?P<d>\d{1,2})(?:st|nd|rd|th)? ?" + _MONTH_RE
            + r"\.?,? ?" + _YEAR + r"(?!\d)"
        ),
        _english_full,
    ),
    # Year-less forms. The guards keep pieces of longer numbers (scores, versions,
    # phone numbers, "2025-01") from being read as month-day.
    (_rx(r"(?<![\d\-/.:])(?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?![\d\-/]|\.\d)"), _month_day),
    (_rx(r"(?<![\d年])(?P<m>\d{1,2}) ?月 ?(?P<d>\d{1,2}) ?[日号]"), _month_day),
    (
        _rx(r"(?<![a-z])" + _MONTH_RE + r"\.? (?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d:a-z])"),
        _english_month_day,
    ),
    # Relative forms.
    (_rx(r"刚刚|刚才|(?<![a-z])just now(?![a-z])"), _days_back(0)),
    (_rx(r"半个?小时前"), _half_hour),
    (_rx(r"(?<!\d)" + _CN_NUM + r" ?个? ?(?P<unit>秒|分|小时|钟头|天|周|星期)钟? ?前"), _ago),
    (_rx(r"(?<![0-9a-z])(?P<n>\d+|an?|one) ?" + _ENGLISH_AGO_UNITS + r"s? ago(?![a-z])"), _ago),
    (_rx(r"今天|今日|(?<![a-z])today(?![a-z])"), _days_back(0)),
    (_rx(r"昨天|昨日|(?<![a-z])yesterday(?![a-z])"), _days_back(1)),
    (_rx(r"前天|前日"), _days_back(2)),
]


_SPACES = re.compile(r"\s+")


def _normalize(text: str) -> str:
    # After this only ASCII digits and spaces remain, which the re.ASCII patterns expect.
    # (A sub, not str.translate: translate is slow on CJK text.)
    return _SPACES.sub(" ", _HYPHENS.sub("-", unicodedata.normalize("NFKC", text)))


def _candidates(text: str) -> list[tuple[int, int, re.Match[str], _Handler]]:
    found = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(text):
            found.append((m.start(), m.end(), m, handler))
    # Leftmost first; at the same start the longest (most specific) match first.
    found.sort(key=lambda c: (c[0], -c[1]))
    return found


def _first_date(text: str, ctx: _Context) -> tuple[dt.date, int, int] | None:
    consumed = 0
    for start, end, m, handler in _candidates(text):
        if start < consumed:  # a piece of an earlier match, e.g. "01-08" inside "2025-01-08"
            continue
        found = handler(m, ctx)
        if found is not None:
            return found, start, end
        consumed = end  # an invalid date (2025-02-30) must not fall back to a piece of itself
    return None


def _context(fetched_at: dt.datetime, tz: str) -> _Context:
    global _last_context
    # A page's dates all come with the same fetched_at and tz objects: comparing identities
    # spares each date hashing an aware datetime for the cache.
    last = _last_context
    if last is not None and last[0] is fetched_at and last[1] is tz:
        return last[2]
    if not isinstance(fetched_at, dt.datetime):
        raise TypeError("fetched_at must be a datetime.datetime")
    # fold is part of the key: equal wall times of one zone compare equal across a DST fold.
    context = _zone_context(fetched_at, fetched_at.fold, tz)
    _last_context = fetched_at, tz, context
    return context


_last_context: tuple[dt.datetime, str, _Context] | None = None


@lru_cache(maxsize=64)
def _zone_context(fetched_at: dt.datetime, fold: int, tz: str) -> _Context:
    # Every date of a page is parsed against the same fetch time and zone.
    if fetched_at.tzinfo is None or fetched_at.utcoffset() is None:
        fetched_at = fetched_at.replace(tzinfo=dt.UTC)  # naive fetch times are UTC
    return fetched_at.astimezone(dt.UTC), ZoneInfo(tz)


def parse_date(
    text: str, fetched_at: dt.datetime, tz: str = "Asia/Shanghai"
) -> dt.date | None:
    """Return the first date found in ``text`` as a local date in ``tz``, or None.

    ``fetched_at`` is when the page was fetched (naive means UTC); year-less and
    relative dates resolve against it in ``tz``. Unknown ``tz`` raises (a config error).
    """
    ctx = _context(fetched_at, tz)
    if not isinstance(text, str) or not text:
        return None
    stripped = text.strip()
    plain = _ISO_DAY.fullmatch(stripped)
    if plain:  # the common case, a plain 2025-01-08 cell: skip the scanner (a third of css parse time)
        try:  # fromisoformat is the same for ASCII digits, and faster
            day = (dt.date.fromisoformat(stripped) if stripped.isascii()
                   else dt.date(int(plain[1]), int(plain[2]), int(plain[3])))
        except ValueError:
            return None
        return day if 1900 <= day.year <= 2099 else None
    found = _first_date(_normalize(text), ctx)
    return found[0] if found else None


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_CELL = re.compile(r"(?:19|20)\d\d-\d\d-\d\d", re.ASCII)
_TIME_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_FILLER_RE = re.compile(
    r"发布时间|发布日期|更新时间|更新日期|发表时间|发表日期|发表于|发布于|更新于|时间|日期|发布|更新"
    r"|(?:星期|礼拜|周)[一二三四五六日天]"
    r"|(?<![A-Za-z])(?:published|posted|updated|date|on|at"
    r"|mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
_DECORATION = " \t\r\n()[]{}<>【】〔〕〖〗《》「」『』:;,|/\\-.·•~"
_DATE_IDEOGRAPHS = "年月日号刚才半个小时前秒分钟头天周星期今昨一二两三四五六七八九十发布间更新表于礼拜"
# A character none of _RULES, _TIME_RE, _FILLER_RE and _DECORATION can consume (nor any
# ASCII, kept for simplicity). Text holding one is no date cell: this spares most titles
# and summaries the full scan. Keep it in step with those patterns.
_FOREIGN = re.compile(
    rf"[^\x00-\x7f{_DATE_IDEOGRAPHS}"
    r"【】〔〕〖〗《》「」『』·•\u0130\u0131\u017f\u212a]"  # the last four: what (?i) folds to ASCII
)
# A CJK ideograph (of the block NFKC leaves as it is) that no date uses: most titles hold one.
_WORD_IDEOGRAPH = re.compile(rf"[^\x00-\u4dff\ua000-\U0010ffff{_DATE_IDEOGRAPHS}]")


def has_word(text: str) -> bool:
    """True when ``text`` holds an ideograph no date uses: then neither it nor any text
    containing it looks_like_date (cheaper to ask than looks_like_date)."""
    return _WORD_IDEOGRAPH.search(text) is not None


def looks_like_date(text: str) -> bool:
    """True when ``text`` is essentially one date: a date cell rather than a title.

    Brackets, a label (``发布时间：``), a weekday and a clock time may surround it;
    any other word makes it not a date cell. Judged by shape: ``2025-02-30`` looks
    like a date even though parse_date returns None for it.
    """
    if not isinstance(text, str):
        return False
    if _ISO_CELL.fullmatch(text):  # the commonest date cell, which the first rule takes whole
        return True
    if has_word(text):
        return False  # an ideograph NFKC keeps and no date uses (most titles): skip normalizing
    s = _normalize(text).strip()
    if not s or len(s) > 80 or _FOREIGN.search(s):  # a date cell is short; long text is a title
        return False
    # The shape decides, not calendar validity: a "2025-02-30" cell is still the date
    # cell (its item then has an unparseable date), not the title.
    candidates = _candidates(s)
    if not candidates:
        return False
    start, end = candidates[0][:2]
    rest = _FILLER_RE.sub(" ", _TIME_RE.sub(" ", s[:start] + " " + s[end:]))
    return not rest.strip(_DECORATION)
