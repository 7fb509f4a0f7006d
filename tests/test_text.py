"""parsers.text: whitespace, visible text, link titles, body decoding."""

from __future__ import annotations

import codecs

import pytest
from selectolax.lexbor import LexborHTMLParser

from parsers.text import clean_text, decode_html, is_truncated, link_title, node_text


def first(html: str, selector: str):
    node = LexborHTMLParser(html).css_first(selector)
    assert node is not None
    return node


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  生态文明\u3000贵阳\xa0\xa0论坛 \n\t 2025 ", "生态文明 贵阳 论坛 2025"),
        ("a\r\nb", "a b"),
        ("新\u200b闻", "新闻"),  # zero-width space renders as nothing
        ("\ufeff标题", "标题"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_clean_text(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_keeps_characters_as_they_are() -> None:
    # No NFKC: full-width digits and punctuation stay.
    assert clean_text("２０２５年（第一期）") == "２０２５年（第一期）"


def test_node_text_skips_script_style_noscript_template_and_comments() -> None:
    node = first(
        "<a>新<script>var t = 'no';</script>闻<style>.a{color:red}</style>"
        "<noscript>enable js</noscript>标题<!-- note --><template><b>tpl</b></template>"
        "&nbsp;&nbsp;第\u3000一期</a>",
        "a",
    )
    assert node_text(node) == "新闻标题 第 一期"


def test_node_text_separates_blocks_but_not_inline_elements() -> None:
    node = first("<div><p>第一段</p><p>第二段</p>a<br>b<span>c</span><em>d</em></div>", "div")
    assert node_text(node) == "第一段 第二段 a bcd"


def test_node_text_does_not_mutate_the_tree() -> None:
    tree = LexborHTMLParser("<div id=x>a<script>s()</script><style>p{}</style>b</div>")
    node = tree.css_first("#x")
    before = tree.html
    assert node_text(node) == "ab"
    assert tree.html == before
    assert tree.css_first("#x script") is not None


def test_node_text_of_none_and_of_deep_trees() -> None:
    assert node_text(None) == ""
    deep = "<div>" * 3000 + "深" + "</div>" * 3000
    assert node_text(first(deep, "body")) == "深"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("关于加强生态文明建设的…", True),
        ("关于加强生态文明建设的……", True),
        ("Full tit...", True),
        ("Full tit..", True),
        ("关于加强。。。", True),
        ("关于加强…  ", True),
        ("关于加强", False),
        ("Version 1.0", False),
        ("结尾是句号。", False),
        ("", False),
    ],
)
def test_is_truncated(text: str, expected: bool) -> None:
    assert is_truncated(text) is expected


def test_link_title_is_the_visible_text() -> None:
    a = first('<a href="1.html" title="其他">  生态文明\n 论坛开幕 </a>', "a")
    assert link_title(a) == "生态文明 论坛开幕"


def test_link_title_prefers_the_full_title_attribute_when_text_is_cut() -> None:
    a = first('<a title=" 关于加强生态文明建设的\n若干意见 ">关于加强生态…</a>', "a")
    assert link_title(a) == "关于加强生态文明建设的 若干意见"
    a = first('<a title="Full title here">Full tit...</a>', "a")
    assert link_title(a) == "Full title here"


def test_link_title_finds_the_attribute_on_a_child() -> None:
    a = first('<a href="1.html"><span title="完整的标题文字">完整的…</span></a>', "a")
    assert link_title(a) == "完整的标题文字"


def test_link_title_uses_the_attribute_when_text_is_empty() -> None:
    a = first('<a href="1.html" title="图片新闻"><img src="1.jpg"></a>', "a")
    assert link_title(a) == "图片新闻"
    a = first('<a href="1.html"><img src="1.jpg" title="图片新闻"></a>', "a")
    assert link_title(a) == "图片新闻"


def test_link_title_ignores_an_attribute_shorter_than_the_visible_text() -> None:
    # "详情" cannot be the whole of a title whose visible part is longer.
    a = first('<a title="详情">关于加强生态文明建设的…</a>', "a")
    assert link_title(a) == "关于加强生态文明建设的…"


def test_link_title_ignores_script_content_and_empty_attributes() -> None:
    a = first('<a title="  "><script>document.write("x")</script>标题</a>', "a")
    assert link_title(a) == "标题"
    assert link_title(first("<a><script>x()</script></a>", "a")) == ""
    assert link_title(None) == ""


# --- decode_html --------------------------------------------------------------

TITLE = "生态文明贵阳国际论坛"


def page(charset_meta: str = "") -> str:
    return f"<html><head>{charset_meta}<title>{TITLE}</title></head><body>新闻</body></html>"


def test_bom_wins_over_everything() -> None:
    body = codecs.BOM_UTF8 + page('<meta charset="gbk">').encode("utf-8")
    text, encoding = decode_html(body, "gbk")
    assert encoding == "utf-8"
    assert text.startswith("<html>") and TITLE in text
    text, encoding = decode_html(codecs.BOM_UTF16_LE + page().encode("utf-16-le"))
    assert (encoding, TITLE in text) == ("utf-16-le", True)
    text, encoding = decode_html(codecs.BOM_UTF16_BE + page().encode("utf-16-be"))
    assert (encoding, TITLE in text) == ("utf-16-be", True)


def test_header_charset_wins_over_meta() -> None:
    body = page('<meta charset="utf-8">').encode("gbk")
    text, encoding = decode_html(body, "GBK")
    assert encoding == "gb18030"
    assert TITLE in text


def test_header_may_be_a_whole_content_type() -> None:
    text, encoding = decode_html(page().encode("gbk"), 'text/html; charset="gb2312"')
    assert (encoding, TITLE in text) == ("gb18030", True)


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="gbk">',
        "<meta charset=GB2312>",
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
        "<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=GB_2312-80'>",
        '<meta charset="x-gbk">',
        '<meta charset="gb18030">',
    ],
)
def test_meta_charset(meta: str) -> None:
    text, encoding = decode_html(page(meta).encode("gb18030"))
    assert encoding == "gb18030"
    assert TITLE in text


def test_meta_beyond_the_first_4kb_is_not_read() -> None:
    body = ("<!--" + "x" * 5000 + "-->" + page('<meta charset="big5">')).encode("utf-8")
    assert decode_html(body)[1] == "utf-8"


def test_big5() -> None:
    body = '<html><head><meta charset="big5"></head><body>新聞資訊</body></html>'.encode("big5")
    text, encoding = decode_html(body)
    assert encoding == "big5"
    assert "新聞資訊" in text


def test_no_declaration_utf8_then_gb18030() -> None:
    assert decode_html(page().encode("utf-8")) == (page(), "utf-8")
    assert decode_html(page().encode("gbk")) == (page(), "gb18030")
    assert decode_html(b"") == ("", "utf-8")


@pytest.mark.parametrize("label", ["no-such-charset", "base64", "rot13", "utf-7", "", "  "])
def test_unknown_or_unusable_labels_fall_through(label: str) -> None:
    assert decode_html(page().encode("gbk"), label) == (page(), "gb18030")
    body = page(f'<meta charset="{label}">').encode("gbk")
    assert decode_html(body)[1] == "gb18030"


def test_utf16_meta_on_an_ascii_readable_page_means_utf8() -> None:
    assert decode_html(page('<meta charset="utf-16">').encode("utf-8"))[1] == "utf-8"


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    text, encoding = decode_html(b"<p>\xff\xfe\x80 ok</p>", "utf-8")
    assert encoding == "utf-8"
    assert "\ufffd" in text and text.endswith(" ok</p>")
    text, encoding = decode_html(b"<p>\x80\xff ok</p>")
    assert encoding == "gb18030" and text.endswith(" ok</p>")


def test_latin1_label_decodes_as_windows_1252_like_browsers() -> None:
    assert decode_html(b"\x93quoted\x94", "iso-8859-1") == ("\u201cquoted\u201d", "cp1252")
