"""sources.toml: load and validate, so a bad file fails before any request."""

from __future__ import annotations

import os
import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsers import PARSERS, SelectorError, check_selectors

DEFAULT_SOURCES = "sources.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ConfigError(ValueError):
    """sources.toml is missing or wrong; the message is one line naming file, source and key."""


@dataclass(frozen=True)
class Source:
    name: str
    start_url: str | None
    parser: str
    timezone: str = "Asia/Shanghai"
    page_url: str | None = None
    max_pages: int = 50
    delay_seconds: float = 1.0
    concurrency: int = 2
    timeout_seconds: float = 30.0
    max_retries: int = 4
    obey_robots: bool = True
    enabled: bool = True
    # Scheduled runs stop after this many pages in a row brought nothing new.
    stop_after_known_pages: int = 1
    user_agent: str | None = None  # default: the project's own, or $NEWS_INGEST_USER_AGENT
    # Hosts item links may be on ("*.example.org" for subdomains); others are quarantined.
    # Empty: any host (listings often link to reposts elsewhere).
    link_hosts: tuple[str, ...] = ()
    selectors: dict[str, str] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[str, ...]:
        """Hosts that belong to the source (article identity is relative to them)."""
        urls = [u for u in (self.start_url, self.page_url) if u]
        return tuple(dict.fromkeys(urlsplit(u).hostname or "" for u in urls))

    def url_for_page(self, page: int) -> str | None:
        """URL of page N straight from the template, if the source has one."""
        if page == 1:
            return self.start_url
        if not self.page_url:
            return None
        return self.page_url.format(page=page, page_index=page - 1)


# key -> (python types accepted, check, what the check wants)
_NUMBERS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "max_pages": ((int,), lambda v: v >= 1, "a whole number >= 1"),
    "delay_seconds": ((int, float), lambda v: v >= 0, "a number >= 0"),
    "concurrency": ((int,), lambda v: v >= 1, "a whole number >= 1"),
    "timeout_seconds": ((int, float), lambda v: v > 0, "a number > 0"),
    "max_retries": ((int,), lambda v: 0 <= v <= 20, "a whole number from 0 to 20"),
    "stop_after_known_pages": ((int,), lambda v: v >= 1, "a whole number >= 1"),
}
_KNOWN_KEYS = {"start_url", "parser", "timezone", "page_url", "obey_robots", "enabled",
               "selectors", "user_agent", "link_hosts", *_NUMBERS}


def resolve_sources_path(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("NEWS_INGEST_SOURCES") or DEFAULT_SOURCES)


def load_sources(path: str | Path) -> dict[str, Source]:
    """Every source in the file, validated, in file order."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"sources file not found: {path} (pass --sources PATH or set NEWS_INGEST_SOURCES)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    extra = set(raw) - {"sources"}
    if extra:
        raise ConfigError(f"{path}: unknown top-level key {sorted(extra)[0]!r} (only [sources.NAME] tables)")
    tables = raw.get("sources", {})
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no sources: add a [sources.NAME] table")
    return {name: _source(path, name, table) for name, table in tables.items()}


def select_sources(sources: dict[str, Source], names: list[str] | None) -> list[Source]:
    """The named sources (unknown name -> error), or every enabled one."""
    if not names:
        return [s for s in sources.values() if s.enabled]
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ConfigError(f"unknown source {unknown[0]!r} (known: {', '.join(sources)})")
    chosen = [sources[n] for n in dict.fromkeys(names)]
    for s in chosen:
        if not s.start_url:
            raise ConfigError(f"source {s.name!r} has no start_url: set it in the sources file")
    return chosen


def _source(path: Path, name: str, table: Any) -> Source:
    where = f"{path}: [sources.{name}]"

    def fail(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{where} {key}: {msg}")

    if not _NAME.match(name):
        raise ConfigError(f"{where}: source names are lower-case letters, digits, '-' and '_'")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise fail(key, f"unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})")
    kwargs: dict[str, Any] = {"name": name}

    for key in ("enabled", "obey_robots"):
        if key in table:
            if not isinstance(table[key], bool):
                raise fail(key, "must be true or false")
            kwargs[key] = table[key]
    enabled = kwargs.get("enabled", True)

    start_url = table.get("start_url")
    if start_url is None:
        if enabled:
            raise fail("start_url", "missing (the listing page's URL)")
    else:
        _check_url(start_url, fail, "start_url")
    kwargs["start_url"] = start_url

    if "page_url" in table:
        page_url = table["page_url"]
        _check_url(page_url, fail, "page_url")
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(page_url) if f is not None}
        except ValueError:  # an unbalanced brace
            fields = set()
        if not fields or fields - {"page", "page_index"}:
            raise fail("page_url", "must contain {page} or {page_index} and no other {...} field")
        kwargs["page_url"] = page_url

    parser = table.get("parser")
    if parser is None:
        raise fail("parser", f"missing (one of: {', '.join(sorted(PARSERS))})")
    if parser not in PARSERS:
        raise fail("parser", f"unknown parser {parser!r} (known: {', '.join(sorted(PARSERS))})")
    kwargs["parser"] = parser

    if "timezone" in table:
        tz = table["timezone"]
        try:
            if not isinstance(tz, str):
                raise ValueError
            ZoneInfo(tz)
        except (ValueError, OSError, ZoneInfoNotFoundError):  # "America" is a directory
            raise fail("timezone", f"unknown time zone {tz!r} (e.g. Asia/Shanghai)") from None
        kwargs["timezone"] = tz

    for key, (types, ok, wants) in _NUMBERS.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, types) or not ok(value):
                raise fail(key, f"must be {wants}, got {value!r}")
            kwargs[key] = value

    if "user_agent" in table:
        ua = table["user_agent"]
        if not isinstance(ua, str) or not ua.strip() or "\n" in ua:
            raise fail("user_agent", "must be a non-empty one-line string")
        kwargs["user_agent"] = ua.strip()

    if "link_hosts" in table:
        hosts = table["link_hosts"]
        if not isinstance(hosts, list) or not all(
                isinstance(h, str) and re.fullmatch(r"(\*\.)?[a-z0-9.-]+(:\d+)?", h.lower()) for h in hosts):
            raise fail("link_hosts", 'must be a list of host names, e.g. ["example.org", "*.example.org"]')
        kwargs["link_hosts"] = tuple(h.lower() for h in hosts)

    if parser == "css":
        try:
            kwargs["selectors"] = check_selectors(table.get("selectors", {}))
        except SelectorError as exc:
            raise fail(f"selectors.{exc.key}" if exc.key else "selectors", exc.reason) from None
    elif "selectors" in table:
        raise fail("selectors", f'only used with parser = "css" (this source uses {parser!r})')
    return Source(**kwargs)


def _check_url(value: Any, fail: Any, key: str) -> None:
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
        if ok:
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:  # "http://[::1/x", ":99999"
        ok = False
    if not ok:
        raise fail(key, f"must be an absolute http(s) URL, got {value!r}")
