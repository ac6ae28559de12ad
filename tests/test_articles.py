"""The development articles (evals/articles/<slug>/): cleaned text a learner and the
eval suite can rely on. Every quoted passage of each package is in the cleaned text;
PDF and plain-text packages keep no running header, footer, sidebar or footnote
marker; titles and authors come from where each article gives them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tutor.corpus import load_document, squash_whitespace

ARTICLES = Path(__file__).resolve().parent.parent / "evals" / "articles"
PACKAGES = sorted(p.name for p in ARTICLES.iterdir() if p.is_dir())

# what each article says about itself (SOURCE.md); None: the article names no author
EXPECTED = {
    "basic-bread-recipe": ("The Basic Bread", None),
    "dark-matter-rotation-curves": (
        "The Data Behind Dark Matter: Exploring Galactic Rotation",
        "A. N. Villano, Kitty C. Harris, Judit Bergfalk, Raphael Hatami, Francis Vititoe, Julia Johnston",
    ),
    "franklin-moral-perfection": ("Plan for Attaining Moral Perfection", None),
    "go-fonts": ("Go fonts", "Nigel Tao, Chuck Bigelow, Rob Pike"),
    "hermitian-matrix": ("Hermitian matrix", None),
    "jfk-inaugural-address": ("JFK's Inaugural Address, January 20, 1961, 12:11 EST", "John F. Kennedy"),
    "pep-285-bool-type": ("Adding a bool type", "Guido van Rossum"),
}


def article(slug: str):
    return load_document(next((ARTICLES / slug).glob("article.*")))


def quotes(slug: str) -> list[str]:
    found = []
    for name, key in (("eval.jsonl", "support"), ("claims.jsonl", "passage"), ("replies.jsonl", "quotes")):
        for line in (ARTICLES / slug / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                value = json.loads(line).get(key) or []
                found += [value] if isinstance(value, str) else value
    return sorted(set(found))


def test_every_package_is_here_with_its_source():
    assert set(EXPECTED) <= set(PACKAGES)  # the five dev packages, and any added since
    for slug in PACKAGES:
        assert (ARTICLES / slug / "SOURCE.md").is_file()


@pytest.mark.parametrize("slug", PACKAGES)
def test_every_quote_is_in_the_cleaned_text(slug):
    text = squash_whitespace(article(slug).text)
    wanted = quotes(slug)
    assert len(wanted) >= 20
    missing = [q for q in wanted if squash_whitespace(q) not in text]
    assert not missing, missing


@pytest.mark.parametrize("slug", PACKAGES)
def test_title_and_author_come_from_the_article(slug):
    doc = article(slug)
    title, author = EXPECTED[slug]
    assert doc.title == title
    assert doc.meta.get("author") == author
    for h in doc.headings:
        assert doc.text[h.start : h.end] == h.text


def test_go_fonts_front_matter_is_metadata_not_text():
    doc = article("go-fonts")
    assert doc.meta["date"] == "2016-11-16"
    assert doc.meta["description"] == "Announcing the Go font family, by Bigelow & Holmes."
    for junk in ("template:", "{{image", "<link", "stylesheet", "summary:"):
        assert junk not in doc.text


def test_bread_markdown_has_no_image_or_link_markup():
    doc = article("basic-bread-recipe")
    for junk in ("![", "](", "../../images", ".jpg", ".png", "youtube.com"):
        assert junk not in doc.text, junk


PDF_FURNITURE = [
    "Villano et al. (2023). The Data Behind Dark Matter",  # running footer
    "Journal of Open Source Education, 6(66)",  # running footer
    "jose.00184",  # footer and sidebar DOI
    "Submitted:", "Published:", "Authors of papers retain copyright", "• Review", "Repository",  # sidebar
    "Department of Physics",  # affiliations in the title block
]


@pytest.mark.parametrize("junk", PDF_FURNITURE)
def test_pdf_has_no_running_footer_sidebar_or_title_block(junk):
    assert junk not in article("dark-matter-rotation-curves").text


def test_pdf_paragraphs_survive_page_breaks_and_page_numbers_go():
    doc = article("dark-matter-rotation-curves")
    assert doc.meta["date"] == "2023-08-08"  # the PDF's creation date; the sidebar's "Published" is gone
    paragraphs = doc.text.split("\n\n")
    assert not [p for p in paragraphs if re.fullmatch(r"\d{1,3}", p)]
    # learning objective 2 runs across the page 2/3 break, under the footer
    assert ("Educate curious students or other individuals on the basic concepts of rotation curves, "
            "as related to the current problems and mysteries regarding dark matter in the universe.") in doc.text
    assert [h.text for h in doc.headings][:4] == [
        "The Data Behind Dark Matter: Exploring Galactic Rotation", "Summary", "Materials", "Statement of Need"]
    assert not re.search(r"[a-z]- [a-z]", doc.text), "a word hyphenated across a line break"
    assert "empirically-derived parameters" in doc.text


@pytest.mark.parametrize("slug", ["dark-matter-rotation-curves", "franklin-moral-perfection"])
def test_no_footnote_marker_in_any_sentence(slug):
    from tutor.language import sentences as split_sentences

    doc = article(slug)
    for sentence in split_sentences(doc.text):
        assert not re.search(r"\[\d{1,3}\]", sentence.text), sentence.text


def test_gutenberg_chapter_is_rejoined_and_its_furniture_removed():
    doc = article("franklin-moral-perfection")
    assert "\n" not in doc.text.replace("\n\n", "")  # hard wraps rejoined inside paragraphs
    for junk in ("+----", "[Illustration", "_Silence_"):
        assert junk not in doc.text, junk
    assert not [p for p in doc.text.split("\n\n") if p.startswith("|")]  # table rows: cells as text
    # footnote bodies stay as paragraphs of their own, without the marker
    assert "Compare Philippians iv, 8." in doc.text.split("\n\n")
    assert ("I soon found I had undertaken a task of more difficulty than I had imagined. While my care "
            "was employ'd in guarding against one fault") in doc.text


def test_wikipedia_page_without_chrome_formula_source_or_citation_marks():
    doc = article("hermitian-matrix")
    for junk in ("[edit]", "Jump to navigation", "Retrieved from", "Privacy policy", "Personal tools",
                 "\\displaystyle", "{\\", "[1]", "[citation needed]", "Donate to Wikipedia", "Mobile view"):
        assert junk not in doc.text, junk
    assert doc.meta["source_url"] == "https://en.wikipedia.org/wiki/Hermitian_matrix"
    assert "Alternative characterizations" in [h.text for h in doc.headings]
    # one-sentence section bodies next to formulas are article text too
    assert "A square matrix is Hermitian if and only if it is unitarily diagonalizable with real eigenvalues." in doc.text
