"""parsers.urls: resolving item links and the URL part of article identity."""

from __future__ import annotations

import pytest

from parsers.urls import canonical_url, host_of, identity_key, resolve_url

PAGE = "http://www.example.com/news/list/index.html"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("../content/1.html", "http://www.example.com/news/content/1.html"),
        ("2.html", "http://www.example.com/news/list/2.html"),
        ("/a/b.html", "http://www.example.com/a/b.html"),
        ("  /a/b.html\n", "http://www.example.com/a/b.html"),
        ("/a/\nb.html", "http://www.example.com/a/b.html"),
        ("?page=2", "http://www.example.com/news/list/index.html?page=2"),
        ("//cdn.example.org/x.html", "http://cdn.example.org/x.html"),
        ("https://other.org/x.html", "https://other.org/x.html"),
        ("HTTPS://Other.org/x.html", "https://Other.org/x.html"),
        ("1.html#comments", "http://www.example.com/news/list/1.html"),
        ("./../../x/./y.html", "http://www.example.com/x/y.html"),
        ("\\news\\1.html", "http://www.example.com/news/1.html"),
    ],
)
def test_resolve_url(href: str, expected: str) -> None:
    assert resolve_url(href, PAGE) == expected


@pytest.mark.parametrize(
    "href",
    [
        None,
        "",
        "   ",
        "#",
        "#top",
        "javascript:void(0)",
        "  JavaScript:openWin('1')",
        "java\nscript:alert(1)",
        "mailto:editor@example.com",
        "tel:+86-851-1234567",
        "data:text/html,<p>x</p>",
        "ftp://example.com/file.txt",
        "about:blank",
        "http://[::1",
    ],
)
def test_resolve_url_rejects_non_links(href: str | None) -> None:
    assert resolve_url(href, PAGE) is None


def test_base_href_wins_over_the_page_url() -> None:
    assert resolve_url("1.html", PAGE, "/sub/") == "http://www.example.com/sub/1.html"
    assert (
        resolve_url("1.html", PAGE, "https://static.example.com/base/")
        == "https://static.example.com/base/1.html"
    )
    # Absolute links ignore the base.
    assert resolve_url("http://x.org/1.html", PAGE, "/sub/") == "http://x.org/1.html"


def test_unusable_base_href_is_ignored() -> None:
    assert resolve_url("1.html", PAGE, "   ") == "http://www.example.com/news/list/1.html"
    assert resolve_url("1.html", PAGE, "javascript:x") == "http://www.example.com/news/list/1.html"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM/News/1.html", "http://www.example.com/News/1.html"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://127.0.0.1:54321/a", "http://127.0.0.1:54321/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com?id=1", "https://example.com/?id=1"),
        ("http://example.com/a#frag", "http://example.com/a"),
        ("http://example.com/a?#", "http://example.com/a"),
        ("http://example.com/a/./b/../c.html", "http://example.com/a/c.html"),
        ("http://example.com/../../c.html", "http://example.com/c.html"),
        ("http://example.com/a/b/..", "http://example.com/a/"),
        ("http://example.com/a b.html", "http://example.com/a%20b.html"),
        ("http://example.com/%7Euser/", "http://example.com/~user/"),
        ("http://example.com/a%2Fb", "http://example.com/a%2Fb"),
        ("http://example.com/100%", "http://example.com/100%25"),
        ("http://例子.中国/x", "http://xn--fsqu00a.xn--fiqs8s/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_tracking_parameters_are_removed_and_the_rest_keep_their_order() -> None:
    url = (
        "https://example.com/news/1.html?utm_source=wx&b=2&spm=a.b.c&a=1&from=timeline"
        "&fbclid=x&gclid=y&mc_cid=1&mc_eid=2&yclid=3&_hsenc=4&_hsmi=5&share_source=qq"
        "&share_medium=m&wxshare_count=2&isappinstalled=0&scene=1&clicktime=9&enterid=7"
        "&UTM_Campaign=z&c=3"
    )
    assert canonical_url(url) == "https://example.com/news/1.html?b=2&a=1&c=3"


def test_query_of_only_tracking_parameters_disappears() -> None:
    assert canonical_url("https://example.com/a?utm_medium=x&spm=1") == "https://example.com/a"


def test_non_tracking_lookalikes_are_kept() -> None:
    assert canonical_url("http://x.com/?fromdate=1&utm=2&id=3") == "http://x.com/?fromdate=1&utm=2&id=3"


def test_non_ascii_is_encoded_once_whatever_the_spelling() -> None:
    raw = canonical_url("http://x.com/新闻/1.html?q=生态")
    encoded = canonical_url("http://x.com/%E6%96%B0%E9%97%BB/1.html?q=%E7%94%9F%E6%80%81")
    lower_hex = canonical_url("http://x.com/%e6%96%b0%e9%97%bb/1.html?q=%e7%94%9f%e6%80%81")
    assert raw == encoded == lower_hex == (
        "http://x.com/%E6%96%B0%E9%97%BB/1.html?q=%E7%94%9F%E6%80%81"
    )
    # Canonicalising is idempotent: no double encoding.
    assert canonical_url(raw) == raw


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://WWW.Example.COM:80/a/./b/../新闻.html?utm_source=x&id=3#top",
        "https://example.com/a%20b?x=%zz&y=1",
        "http://[::1]:8080/x",
    ],
)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_canonical_url_never_raises_on_garbage() -> None:
    assert canonical_url("http://[::1") == "http://[::1"
    assert canonical_url("") == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://WWW.Example.com:8080/x", "example.com"),
        ("https://example.com/x", "example.com"),
        ("www.example.com", "example.com"),
        ("Example.COM:443", "example.com"),
        ("http://127.0.0.1:54321/", "127.0.0.1"),
        ("http://www2.example.com/", "www2.example.com"),
        ("http://news.example.com/", "news.example.com"),
        ("", ""),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


def test_identity_survives_scheme_www_and_port_changes() -> None:
    hosts = ["www.example.com"]
    spellings = [
        "http://www.example.com/news/content/1.html?id=3",
        "https://example.com/news/content/1.html?id=3&utm_source=wx#comments",
        "http://WWW.EXAMPLE.COM:8080/news/content/1.html?id=3",
        "https://www.example.com:443/news/./content/1.html?spm=1&id=3",
    ]
    keys = {identity_key(url, hosts) for url in spellings}
    assert keys == {"/news/content/1.html?id=3"}


def test_identity_on_a_mirror_with_a_random_port() -> None:
    hosts = ["127.0.0.1"]
    assert identity_key("http://127.0.0.1:54321/news/1.html", hosts) == "/news/1.html"
    assert identity_key("http://127.0.0.1:40001/news/1.html", hosts) == "/news/1.html"


def test_source_hosts_may_be_given_as_urls_or_with_ports() -> None:
    assert identity_key("https://example.com/a", ["http://www.example.com:8000/list.html"]) == "/a"
    assert identity_key("https://example.com/a", ("EXAMPLE.com:443",)) == "/a"


def test_identity_of_a_foreign_link_is_the_full_canonical_url() -> None:
    hosts = ["www.example.com"]
    assert (
        identity_key("HTTP://Other.org:80/a?utm_source=x&id=1#f", hosts) == "http://other.org/a?id=1"
    )
    # Subdomains are other hosts.
    assert identity_key("http://news.example.com/a", hosts) == "http://news.example.com/a"


def test_identity_of_the_site_root() -> None:
    assert identity_key("https://example.com", ["example.com"]) == "/"
    assert identity_key("https://example.com?id=1", ["example.com"]) == "/?id=1"


def test_identity_with_no_source_hosts_is_the_canonical_url() -> None:
    assert identity_key("https://Example.com/a#x", []) == "https://example.com/a"
