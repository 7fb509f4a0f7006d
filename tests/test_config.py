"""sources.toml validation: one clear error naming the source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import ConfigError, load_sources, select_sources

GOOD = """
[sources.a]
start_url = "https://example.org/news/list.html"
page_url = "https://example.org/news/list_{page}.html"
parser = "ecoforum"
delay_seconds = 0.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_and_defaults(tmp_path):
    (src,) = load_sources(write(tmp_path, GOOD)).values()
    assert src.name == "a" and src.delay_seconds == 0.5 and src.max_pages == 50
    assert src.timezone == "Asia/Shanghai" and src.enabled and src.obey_robots
    assert src.url_for_page(1) == "https://example.org/news/list.html"
    assert src.url_for_page(3) == "https://example.org/news/list_3.html"
    assert src.hosts == ("example.org",)


def test_page_index_template(tmp_path):
    text = GOOD.replace("list_{page}.html", "index_{page_index}.shtml")
    (src,) = load_sources(write(tmp_path, text)).values()
    assert src.url_for_page(2) == "https://example.org/news/index_1.shtml"


@pytest.mark.parametrize(("change", "expected"), [
    (("delay_seconds = 0.5", "delay_secs = 0.5"), "[sources.a] delay_secs: unknown key"),
    (('parser = "ecoforum"', 'parser = "magic"'), "[sources.a] parser: unknown parser 'magic'"),
    (('start_url = "https://example.org/news/list.html"', 'start_url = "ftp://x/y"'),
     "[sources.a] start_url: must be an absolute http(s) URL"),
    (('start_url = "https://example.org/news/list.html"', 'start_url = "list.html"'),
     "[sources.a] start_url: must be an absolute http(s) URL"),
    (("list_{page}.html", "list_2.html"), "[sources.a] page_url: must contain {page}"),
    (("list_{page}.html", "list_{n}.html"), "[sources.a] page_url: must contain {page}"),
    (("delay_seconds = 0.5", "delay_seconds = -1"), "[sources.a] delay_seconds: must be a number >= 0"),
    (("delay_seconds = 0.5", 'max_pages = "10"'), "[sources.a] max_pages: must be a whole number"),
    (("delay_seconds = 0.5", "enabled = 1"), "[sources.a] enabled: must be true or false"),
    (("delay_seconds = 0.5", 'timezone = "Mars/Olympus"'), "[sources.a] timezone: unknown time zone"),
    (('parser = "ecoforum"\n', ""), "[sources.a] parser: missing"),
    (("[sources.a]", "[sources.A]"), "source names are lower-case"),
    (("[sources.a]", "[source.a]"), "unknown top-level key 'source'"),
    (("delay_seconds = 0.5", "delay_seconds = "), "invalid TOML"),
    (("list_{page}.html", "list_{page.html"), "[sources.a] page_url: must contain {page}"),
    (("https://example.org/news/list.html", "http://[::1/list.html"), "start_url: must be an absolute"),
    (("https://example.org/news/list.html", "http://e.org:99999/l.html"), "start_url: must be an abso"),
    (("delay_seconds = 0.5", 'timezone = "America"'), "[sources.a] timezone: unknown time zone"),
    (("delay_seconds = 0.5", 'link_hosts = "example.org"'), "[sources.a] link_hosts: must be a list"),
    (("delay_seconds = 0.5", 'link_hosts = ["http://x.org/"]'), "[sources.a] link_hosts: must be a list"),
])
def test_bad_files_name_source_and_key(tmp_path, change, expected):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(ConfigError, match="sources file not found.*--sources"):
        load_sources(tmp_path / "nope.toml")


def test_disabled_source_may_lack_start_url_but_cannot_run(tmp_path):
    text = GOOD + '\n[sources.b]\nparser = "ecoforum"\nenabled = false\n'
    sources = load_sources(write(tmp_path, text))
    assert [s.name for s in select_sources(sources, None)] == ["a"]
    with pytest.raises(ConfigError, match="'b' has no start_url"):
        select_sources(sources, ["b"])
    with pytest.raises(ConfigError, match="unknown source 'zz'"):
        select_sources(sources, ["zz"])


def test_shipped_sources_file_is_valid_and_its_real_source_disabled():
    sources = load_sources(Path(__file__).parents[1] / "sources.toml")
    assert sources["eco-forum"].enabled is False
    assert sources["eco-forum"].start_url is None  # not invented: the operator sets it


def test_css_sources_have_their_selectors_checked(tmp_path):
    css = GOOD.replace('parser = "ecoforum"', 'parser = "css"')
    ok = css + '[sources.a.selectors]\nitem = "ul.news > li"\ntitle = "a"\n'
    (src,) = load_sources(write(tmp_path, ok)).values()
    assert src.selectors == {"item": "ul.news > li", "title": "a"}
    for table, expected in [
        ('item = "ul >"\ntitle = "a"', "[sources.a] selectors.item:"),
        ('item = "li"', "[sources.a] selectors.title:"),
        ('item = "li"\ntitle = "a"\ncolour = "b"', "[sources.a] selectors.colour:"),
        ("", "[sources.a] selectors"),
    ]:
        with pytest.raises(ConfigError) as err:
            load_sources(write(tmp_path, css + "[sources.a.selectors]\n" + table + "\n"))
        assert expected in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match='selectors: only used with parser = "css"'):
        load_sources(write(tmp_path, GOOD + '[sources.a.selectors]\nitem = "li"\ntitle = "a"\n'))
