"""Loading and cleaning corpus files: the seed capture, markdown, html, pdf, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor.corpus import (
    Document,
    clean_text,
    find_corpus_files,
    load_document,
    squash_whitespace,
)
from tutor.errors import InputFileError
from tutor.language import sentences as split_sentences

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed_leadership_capture.txt"
CORPUS_MD = Path(__file__).parent.parent / "corpus" / "leadership-vs-management.md"
BYLINE = "by Dr. Robert Terry, author of Authentic Leadership: Courage In Action"

SEED_BOILERPLATE = [
    "Action Wheel Leadership",
    "Action Wheel Leadership Site Map",
    "Related Pages:",
    "A Definition of Leadership",
    "Ethics in Leadership",
    "Home | Contact |",
    "Our Website Builder",
    "Website by Site Build It: the tools, the support, and the ongoing innovation to help you "
    "build your business.",
]
SEED_HEADINGS = [
    "What is the Difference Between Leadership and Management?",
    "Leadership Versus Management, and Technical Expertise",
    "Leadership Versus Management",
    "Leadership Versus Management Quote",
    "Leadership Versus Management and The Action Wheel:",
    "Leadership vs Management...Going Beyond Position",
]


def seed_article_part() -> str:
    """The raw seed from the article's first heading through its last sentence."""
    raw = SEED.read_text(encoding="utf-8")
    start = raw.index("What is the Difference Between")
    end = raw.index("unity of purpose and value.") + len("unity of purpose and value.")
    return raw[start:end]


def seed_article_paragraphs() -> list[str]:
    paragraphs = [squash_whitespace(p) for p in re.split(r"\n\s*\n", seed_article_part())]
    return [p for p in paragraphs if p and p != BYLINE]


def seed_article_sentences() -> list[str]:
    sentences = [squash_whitespace(s.text) for s in split_sentences(seed_article_part())]
    return [s for s in sentences if s != BYLINE]


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def assert_headings_map_back(doc: Document) -> None:
    for h in doc.headings:
        assert doc.text[h.start : h.end] == h.text


# ---- the seed capture (.txt) ---------------------------------------------


def test_seed_cleaning_keeps_exactly_the_article_paragraphs():
    text, _ = clean_text(SEED.read_text(encoding="utf-8"))
    assert paragraphs(text) == seed_article_paragraphs()


@pytest.mark.parametrize("line", SEED_BOILERPLATE)
def test_seed_cleaning_removes_boilerplate_line(line):
    text, _ = clean_text(SEED.read_text(encoding="utf-8"))
    assert line not in paragraphs(text)
    assert line not in text or line == "Action Wheel Leadership"  # also an article phrase


@pytest.mark.parametrize("marker", ["Site Map", "Related Pages", "Website by", "Site Build It",
                                    "Home |", "Our Website Builder", "Definition of Leadership"])
def test_seed_cleaning_leaves_no_boilerplate_marker(marker):
    text, _ = clean_text(SEED.read_text(encoding="utf-8"))
    assert marker not in text


def test_seed_cleaning_keeps_every_article_sentence_verbatim():
    text, _ = clean_text(SEED.read_text(encoding="utf-8"))
    for sentence in seed_article_sentences():
        assert sentence in text, sentence


def test_seed_cleaning_finds_headings_and_normalises_whitespace():
    text, headings = clean_text(SEED.read_text(encoding="utf-8"))
    assert [h.text for h in headings] == SEED_HEADINGS
    assert {h.level for h in headings} == {2}
    assert "\u00a0" not in text and "  " not in text and "\n\n\n" not in text
    assert not any(line != line.strip() for line in text.split("\n"))


def test_seed_loads_with_byline_in_meta_and_page_title():
    doc = load_document(SEED)
    assert doc.title == "Leadership Versus Management"
    assert doc.meta["author"] == "Dr. Robert Terry"
    assert doc.meta["byline"] == BYLINE
    assert BYLINE not in doc.text
    assert_headings_map_back(doc)


# ---- markdown ---------------------------------------------------------------


def test_corpus_markdown_document():
    doc = load_document(CORPUS_MD)
    assert doc.doc_id == "leadership-vs-management"
    assert doc.title == "Leadership Versus Management"
    assert doc.meta["author"] == "Dr. Robert Terry"
    assert doc.meta["byline"] == BYLINE
    assert [h.text for h in doc.headings] == [h.rstrip(":") for h in SEED_HEADINGS]
    assert [h.level for h in doc.headings] == [1, 2, 2, 2, 2, 2]
    assert "#" not in doc.text and "---" not in doc.text
    assert_headings_map_back(doc)


def test_corpus_markdown_holds_every_seed_sentence_verbatim():
    doc = load_document(CORPUS_MD)
    for sentence in seed_article_sentences():
        heading = sentence.rstrip(":") in SEED_HEADINGS or sentence in SEED_HEADINGS
        assert (sentence.rstrip(":") if heading else sentence) in doc.text, sentence
    assert '"Management is doing things right; leadership is doing the right things." ~Peter F. Drucker' in doc.text


def test_markdown_markup_is_stripped_but_words_kept(tmp_path):
    path = tmp_path / "My Notes (v2).md"
    path.write_text(
        "---\ntitle: Notes\nauthor: Someone\n---\n"
        "# Big *Idea*\n\nSome **bold** and _italic_ words, a [link](http://x.org/a_b) and `code`.\n"
        "A wrapped\nline.\n\n## Second\n\n- first item\n- second item\n\n<!-- hidden -->\n"
        "> quoted text\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.doc_id == "my-notes-v2"
    assert doc.title == "Notes"
    assert doc.meta == {"author": "Someone"}
    assert paragraphs(doc.text) == [
        "Big Idea",
        "Some bold and italic words, a link and code. A wrapped line.",
        "Second",
        "first item",
        "second item",
        "quoted text",
    ]
    assert [(h.level, h.text) for h in doc.headings] == [(1, "Big Idea"), (2, "Second")]
    assert_headings_map_back(doc)


def test_markdown_title_falls_back_to_first_heading_then_stem(tmp_path):
    (tmp_path / "a.md").write_text("# The Heading\n\nBody.\n", encoding="utf-8")
    (tmp_path / "plain_note-file.md").write_text("Just a body sentence.\n", encoding="utf-8")
    assert load_document(tmp_path / "a.md").title == "The Heading"
    assert load_document(tmp_path / "plain_note-file.md").title == "Plain Note File"


# ---- html -------------------------------------------------------------------


def test_html_boilerplate_is_stripped():
    doc = load_document(DATA / "article_page.html")
    assert doc.title == "Coping With Change"
    assert doc.meta["author"] == "Ada Example"
    assert doc.meta["source_url"] == "https://example.org/coping-with-change"
    for junk in ["SCRIPT-BODY", "trackingSecret", "INLINE-SCRIPT", "NOSCRIPT", "secret-style",
                 "cookies", "Nav Link", "Articles", "Share on", "Other Post", "Footer Tag",
                 "Sidebar", "Copyright", "Powered by", "Example Leadership Site", "By Ada"]:
        assert junk not in doc.text, junk
    assert paragraphs(doc.text) == [
        "Coping With Change",
        "Managers bring order and consistency to complex organisations. "
        "Leaders, by contrast, help people cope with change.",
        "Why the distinction matters",
        "Without the distinction, teams confuse planning with direction. A plan is not a vision.",
        "Managers plan and budget.",
        "Leaders establish direction.",
        "Change is the only constant.",
    ]
    assert [(h.level, h.text) for h in doc.headings] == [
        (1, "Coping With Change"), (2, "Why the distinction matters")]
    assert_headings_map_back(doc)


def test_html_without_article_uses_body_and_title_tag(tmp_path):
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Plain Page | Site</title></head><body>"
        "<div class='menu'>Menu item</div><div>Loose text in a div.</div>"
        "<p>A real paragraph.</p><script>alert('x')</script></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.title == "Plain Page"
    assert paragraphs(doc.text) == ["Loose text in a div.", "A real paragraph."]


# ---- pdf --------------------------------------------------------------------


def make_pdf(path: Path, heading: str, body: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = [Paragraph(heading, styles["Heading2"])]
    for para in body:
        story += [Paragraph(para, styles["BodyText"]), Spacer(1, 12)]
    SimpleDocTemplate(str(path), pagesize=A4, title="Kotter on Change", author="A. Writer").build(story)


def test_pdf_loads_with_paragraphs_joined(tmp_path):
    body = [
        "Management, Kotter argues, copes with complexity. In contrast, leadership copes with "
        "change. Leadership focuses on the larger context for action and attends to the changes "
        "that are shaping the bureaucracy itself, while management brings order and consistency.",
        "Within this change context, managers plan and budget, organize and staff, and control "
        "and solve problems. In contrast, leaders establish direction, align people, and motivate "
        "and inspire.",
    ]
    path = tmp_path / "kotter.pdf"
    make_pdf(path, "Complexity and Change", body)
    doc = load_document(path)
    assert doc.title == "Kotter on Change"
    assert doc.meta["author"] == "A. Writer"
    assert doc.headings and doc.headings[0].text == "Complexity and Change"
    for para in body:
        for sentence in split_sentences(para):
            assert sentence.text in doc.text, sentence.text
    assert "\n\n" in doc.text and "complex- ity" not in doc.text
    assert_headings_map_back(doc)


def test_pdf_hyphenated_line_breaks_are_joined(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "lines.pdf"
    c = canvas.Canvas(str(path))
    lines = ["Managers threatened by change give undue attention to the struc-",
             "ture of the organisation, and leaders preoccupy themselves with",
             "power.", "", "3"]
    for i, line in enumerate(lines):
        c.drawString(72, 750 - 14 * i, line)
    c.save()
    doc = load_document(path)
    assert doc.text == ("Managers threatened by change give undue attention to the structure of "
                        "the organisation, and leaders preoccupy themselves with power.")


def test_pdf_without_text_layer_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 100, 200, 200, fill=1)
    c.save()
    with pytest.raises(InputFileError, match="no text layer") as err:
        load_document(path)
    assert str(path) in str(err.value)


# ---- bad inputs ---------------------------------------------------------------

BAD_INPUTS = {
    "empty.txt": (b"", "empty"),
    "blank.md": (b"  \n\t\n   \n", "empty"),
    "nbsp-only.txt": ("\u00a0 \u00a0\n".encode(), "whitespace"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "binary"),
    "controls.html": (bytes(range(1, 9)) * 50, "binary"),
    "latin1.txt": ("Caf\u00e9 cr\u00e8me and na\u00efve r\u00e9sum\u00e9.".encode("latin-1"), "UTF-8"),
    "report.docx": (b"PK\x03\x04 not really a docx", "unsupported"),
    "broken.pdf": (b"%PDF-1.4\nthis is not a pdf body at all\n", "PDF"),
    "only-boilerplate.txt": (b"Home | About | Contact\n\nCopyright 2024 Foo. All rights reserved.\n", "boilerplate"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_one_line_error_naming_the_file(tmp_path, name):
    data, reason = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError) as err:
        load_document(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert reason.lower() in message.lower()


def test_missing_path_raises(tmp_path):
    path = tmp_path / "nope.md"
    with pytest.raises(InputFileError, match="no such file") as err:
        load_document(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unsupported_message_lists_accepted_types(tmp_path):
    path = tmp_path / "a.docx"
    path.write_bytes(b"x")
    with pytest.raises(InputFileError) as err:
        load_document(path)
    for suffix in (".md", ".markdown", ".txt", ".html", ".htm", ".pdf"):
        assert suffix in str(err.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_encodings_are_accepted(tmp_path, encoding):
    path = tmp_path / "bom.txt"
    path.write_bytes("Caf\u00e9 culture is a real thing here.\n".encode(encoding))
    assert load_document(path).text == "Caf\u00e9 culture is a real thing here."


# ---- ids and hashes ---------------------------------------------------------


def test_doc_id_and_hash_are_stable(tmp_path):
    path = tmp_path / "Leadership & Management, 2nd Ed.txt"
    path.write_text("A sentence about leaders.\n", encoding="utf-8")
    first, second = load_document(path), load_document(path)
    assert first.doc_id == second.doc_id == "leadership-management-2nd-ed"
    assert first.content_hash == second.content_hash and len(first.content_hash) == 64
    path.write_text("A different sentence about leaders.\n", encoding="utf-8")
    assert load_document(path).content_hash != first.content_hash
    assert load_document(path).doc_id == first.doc_id


def test_front_matter_id_wins(tmp_path):
    path = tmp_path / "whatever.md"
    path.write_text("---\nid: Custom Id\n---\nBody text.\n", encoding="utf-8")
    assert load_document(path).doc_id == "custom-id"


# ---- generic boilerplate rules --------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        "Skip to content",
        "Home | About | Blog | Contact",
        "Home » Articles » This One",
        "Powered by WordPress",
        "Copyright © 2024 Foo Ltd.",
        "© 2023 Someone",
        "Everything here. All rights reserved.",
        "We use cookies to improve your experience. Accept",
        "Subscribe to our newsletter for free updates!",
        "Share this article",
        "Privacy Policy",
    ],
)
def test_generic_boilerplate_lines_are_removed(junk):
    raw = f"Intro Heading\n\nFirst real sentence here.\n\n{junk}\n\nSecond real sentence here."
    text, _ = clean_text(raw)
    assert paragraphs(text) == ["Intro Heading", "First real sentence here.", "Second real sentence here."]


def test_related_block_and_trailing_links_are_removed():
    raw = ("Body sentence one.\n\nYou might also like\n\nTen Tips\n\nAnother Post\n\n"
           "Body sentence two.\n\nAbout the Site\n\nContact Page\n")
    text, _ = clean_text(raw)
    assert paragraphs(text) == ["Body sentence one.", "Body sentence two."]


def test_article_words_that_look_like_footer_are_kept():
    raw = "The old mill was\npowered by water all year.\n\nWe use the word cookie loosely."
    text, _ = clean_text(raw)
    assert paragraphs(text) == ["The old mill was powered by water all year.",
                                "We use the word cookie loosely."]


# ---- finding files ----------------------------------------------------------


def test_find_corpus_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ["a.md", "b/c.txt", "b/d.html", "a.questions.yaml", "a.questions.yml",
                 ".secret.md", ".hidden/e.md", "notes.docx"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    explicit = tmp_path / "explicit.docx"
    explicit.write_text("x", encoding="utf-8")
    missing = tmp_path / "missing.pdf"
    files, problems = find_corpus_files([tmp_path, explicit, missing, tmp_path / "a.md"])
    assert files == [tmp_path / "a.md", tmp_path / "b" / "c.txt", tmp_path / "b" / "d.html"]
    assert [p for p, _ in problems] == [explicit, missing]
    assert all(str(p) in msg and "\n" not in msg for p, msg in problems)


# ---- html: what a real page throws at the cleaner -------------------------------

PROSE = [
    "The harbour froze in the winter of that year, and the boats stayed in until March.",
    "Fishermen mended their nets in the long sheds by the quay while the ice held the bay.",
    "When the thaw came, the first boat out brought back a catch that fed the town for a week.",
    "Nobody remembered a colder season, and the parish records say the same thing.",
]


def page(body: str, head: str = "<title>The Frozen Harbour | Coast News</title>") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def write(tmp_path: Path, html: str, name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


@pytest.mark.parametrize("wrapper", ["div class='sidebar-layout'", "div id='share-root'",
                                     "div class='nav-wrapper main'", "section class='related-content'"])
def test_html_wrapper_with_a_boilerplate_name_is_kept_when_it_holds_the_article(tmp_path, wrapper):
    tag = wrapper.split()[0]
    body = (f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><{wrapper}><h1>The Frozen Harbour</h1>"
            + "".join(f"<p>{p}</p>" for p in PROSE) + f"</{tag}><footer>Copyright 2024 Coast News</footer>")
    doc = load_document(write(tmp_path, page(body)))
    for p in PROSE:
        assert p in doc.text
    assert "Copyright" not in doc.text


def test_html_captions_credits_hidden_text_and_formula_source_are_left_out(tmp_path):
    body = (
        "<article><h1>The Frozen Harbour</h1>"
        "<p class='byline'>By Mara Lind</p>"
        f"<p>{PROSE[0]}</p>"
        "<figure><img src='a.jpg' alt='Boats in ice'><figcaption>Boats in the ice at dawn. "
        "<span class='credit'>Jon Berg/Reuters</span></figcaption></figure>"
        f"<p>{PROSE[1]} The ice was <span class='math'><math><semantics><mi>x</mi>"
        "<annotation encoding='application/x-tex'>{\\displaystyle x^2}</annotation></semantics></math>"
        "</span> metres thick.</p>"
        "<p style='display:none'>Hidden teaser text for robots.</p>"
        "<div hidden>Also hidden from readers.</div>"
        f"<p>{PROSE[2]}<sup class='reference'><a href='#cite-1'>[1]</a></sup></p>"
        "<div class='share-tools'>Share this story on Facebook</div>"
        "<aside class='newsletter-signup'>Sign up for our newsletter for free updates</aside>"
        f"<p>{PROSE[3]}</p>"
        "<p>This article originally appeared on Coast Weekly.</p>"
        "</article>"
    )
    doc = load_document(write(tmp_path, page(body)))
    for junk in ("Boats in the ice", "Jon Berg", "Reuters", "displaystyle", "Hidden teaser", "Also hidden",
                 "[1]", "Share this", "newsletter", "originally appeared", "By Mara Lind"):
        assert junk not in doc.text, junk
    for p in PROSE:
        assert p in doc.text, p
    assert doc.title == "The Frozen Harbour"
    assert doc.meta["author"] == "Mara Lind"


def test_html_metadata_from_json_ld_and_meta_tags(tmp_path):
    head = (
        "<title>The Frozen Harbour - Coast News</title>"
        "<meta name='description' content='A winter the town remembers.'>"
        "<meta property='og:site_name' content='Coast News'>"
        "<link rel='canonical' href='https://news.example.org/frozen-harbour'>"
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
        '"headline": "The Frozen Harbour", "datePublished": "2021-02-03T08:00:00Z", '
        '"author": {"@type": "Person", "name": "Mara Lind"}}</script>'
    )
    body = "<main><article><h1>The Frozen Harbour</h1>" + "".join(f"<p>{p}</p>" for p in PROSE) + "</article></main>"
    doc = load_document(write(tmp_path, page(body, head)))
    assert doc.title == "The Frozen Harbour"
    assert doc.meta["author"] == "Mara Lind"
    assert doc.meta["date"] == "2021-02-03"
    assert doc.meta["site_name"] == "Coast News"
    assert doc.meta["description"] == "A winter the town remembers."
    assert doc.meta["source_url"] == "https://news.example.org/frozen-harbour"
    assert doc.headings[0].level == 1 and doc.headings[0].text == "The Frozen Harbour"


def test_html_page_without_article_text_is_refused_in_one_line(tmp_path):
    body = "<nav><a href='/'>Home</a> | <a href='/a'>About</a></nav><footer>Copyright 2024 Foo</footer>"
    path = write(tmp_path, page(body))
    with pytest.raises(InputFileError, match="no article text") as err:
        load_document(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_html_declared_legacy_charset_is_honoured(tmp_path):
    html = page("<article><p>Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9, and a long sentence about it.</p></article>",
                "<meta charset='windows-1252'><title>Caf\u00e9</title>")
    path = tmp_path / "cafe.html"
    path.write_bytes(html.encode("cp1252"))
    assert "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9" in load_document(path).text


# ---- markdown: front matter, badges, links, tables, code -----------------------------


def test_markdown_front_matter_lists_dates_and_summary_become_metadata(tmp_path):
    path = tmp_path / "post.md"
    path.write_text(
        "---\ntitle: Harbour Notes\ndate: 2016-11-16\nby:\n- Ann One\n- Bo Two\nsummary: Notes on ice.\n"
        "tags: [a, b]\n---\n\nBody sentence about ice.\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "Harbour Notes"
    assert doc.meta == {"date": "2016-11-16", "author": "Ann One, Bo Two", "description": "Notes on ice."}
    path.write_text("---\nauthors: [Cy Three]\ndescription: D.\n---\nBody.\n", encoding="utf-8")
    assert load_document(path).meta == {"author": "Cy Three", "description": "D."}


def test_markdown_badges_images_link_lines_comments_and_tables(tmp_path):
    path = tmp_path / "readme.md"
    path.write_text(
        "Title Here\n==========\n\n"
        "[![Build](https://ci.example/badge.svg)](https://ci.example) [![PyPI](https://img/p.svg)](https://pypi)\n\n"
        "<!-- a comment that is not prose -->\n"
        "<link rel=\"stylesheet\" href=\"/css/x.css\">\n\n"
        "The tool reads files. See ![diagram](img/d.png) for the flow.\n\n"
        "{{image \"x/y.png\" 600}}\n\n"
        "[Docs](https://docs) | [Blog](https://blog)\n\n"
        "A wrapped line that goes on\nto [the next one](https://x.org).\n\n"
        "| Name | Value |\n|------|------:|\n| flour | 500 g |\n| water | 325 g |\n\n"
        "```\ncode line one\ncode line two\n```\n\n"
        "Closing words[^1] here.\n\n[^1]: The note.\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert paragraphs(doc.text) == [
        "Title Here",
        "The tool reads files. See for the flow.",
        "A wrapped line that goes on to the next one.",
        "Name | Value",
        "flour | 500 g",
        "water | 325 g",
        "code line one code line two",
        "Closing words here.",
    ]
    assert [(h.level, h.text) for h in doc.headings] == [(1, "Title Here")]


# ---- plain text: books and footnotes ---------------------------------------------------


def test_plain_text_chapter_heading_title_footnotes_and_tables(tmp_path):
    path = tmp_path / "chapter.txt"
    path.write_text(
        "IV\n\nTHE WINTER OF THE\nFROZEN HARBOUR\n\n\n"
        "It was a cold year, and the boats stayed in[12] until the\nthaw. We _waited_ for it.[13]\n\n"
        "    [12] The town kept a record of it.\n\n"
        "+----+----+\n| a. | b. |\n+----+----+\n\n"
        "[Illustration: boats in the ice]\n\n"
        "The end came at last, as the records say in [4].\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.title == "The Winter of the Frozen Harbour"
    assert paragraphs(doc.text) == [
        "IV",
        "THE WINTER OF THE FROZEN HARBOUR",
        "It was a cold year, and the boats stayed in until the thaw. We waited for it.",
        "The town kept a record of it.",
        "a. | b.",
        "The end came at last, as the records say in [4].",
    ]


# ---- pdf: layout ------------------------------------------------------------------------


def test_pdf_running_footer_sidebar_page_numbers_and_title_block(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "paper.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    words = ("the harbour froze and the boats stayed in while fishermen mended nets in long sheds "
             "by the quay until the thaw came and the first boat brought back a catch ").split()
    lines = [" ".join(words[(i * 3) % 20 :][:11]) for i in range(90)]
    for page in range(3):
        y = 770
        if page == 0:
            c.setFont("Helvetica-Bold", 18)
            c.drawString(170, y, "Ice on the Harbour")
            c.setFont("Helvetica", 12)
            c.drawString(170, y - 24, "Mara Lind, Jon Berg and Ann One")
            c.setFont("Helvetica", 8)
            c.drawString(30, 600, "Sidebar: licence CC BY")
            c.drawString(30, 590, "Submitted: 1 May")
            c.setFont("Helvetica-Bold", 14)
            c.drawString(170, y - 60, "Summary")
            y -= 80
        c.setFont("Helvetica", 10)
        for i, line in enumerate(lines[page * 30 : page * 30 + 30]):
            text = line if not (page == 1 and i == 29) else line + " and the"
            c.drawString(170, y - 12 * i, text + ("." if i % 10 == 9 and not (page == 1 and i == 29) else ""))
        c.setFont("Helvetica", 8)
        c.drawString(170, 40, "Lind et al. (2024). Ice on the Harbour. Coast Journal, 3(1), 12.")
        c.drawString(300, 25, str(page + 1))
        c.showPage()
    c.save()
    doc = load_document(path)
    assert doc.title == "Ice on the Harbour"
    assert doc.meta["author"] == "Mara Lind, Jon Berg, Ann One"
    for junk in ("Coast Journal", "Lind et al.", "Sidebar", "Submitted", "Mara Lind"):
        assert junk not in doc.text, junk
    assert not [p for p in paragraphs(doc.text) if p.isdigit()]
    assert [h.text for h in doc.headings] == ["Ice on the Harbour", "Summary"]
    assert " and the " + lines[60].split()[0] in doc.text  # the sentence runs on across the page break


def test_windows_line_ends_and_a_page_of_bare_text(tmp_path):
    md = tmp_path / "crlf.md"
    md.write_bytes(b"---\r\ntitle: Line Ends\r\nauthor: Ann One\r\n---\r\n# Head\r\n\r\nBody line one\r\ncontinues here.\r\n")
    doc = load_document(md)
    assert (doc.title, doc.meta, doc.text) == ("Line Ends", {"author": "Ann One"}, "Head\n\nBody line one continues here.")
    bare = tmp_path / "bare.html"
    bare.write_text("Only words, no tags at all, but a sentence all the same.", encoding="utf-8")
    assert load_document(bare).text == "Only words, no tags at all, but a sentence all the same."
