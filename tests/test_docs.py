"""The README and docs/: every page reachable from the README, every relative link and anchor
resolves, the README stays short, and no link leaves the repository."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(path: Path) -> str:
    """The text outside fenced code blocks and inline code spans."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return re.sub(r"`[^`\n]*`", "", "\n".join(lines))


def headings(path: Path) -> list[str]:
    found, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            found.append(match.group(1))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(path))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)  # http:, mailto:, ...
    ]


def test_anchors_follow_githubs_rules():
    assert anchor("Running it: two ways") == "running-it-two-ways"
    assert (
        anchor("What the ERP sends: `POST /erp/licences`") == "what-the-erp-sends-post-erplicences"
    )
    assert anchor("The mapping file: `mappings/erp.yaml`") == "the-mapping-file-mappingserpyaml"
    assert anchor("`entitlements explain` options") == "entitlements-explain-options"


def test_every_docs_page_is_linked_from_the_readme():
    assert PAGES, "no docs/*.md"
    linked = {
        (README.parent / unquote(target.split("#", 1)[0])).resolve()
        for target in relative_links(README)
        if target.split("#", 1)[0]
    }
    unlinked = [page.name for page in PAGES if page.resolve() not in linked]
    assert not unlinked, f"docs pages not linked from README.md: {unlinked}"


def test_every_docs_page_links_back_to_the_readme():
    for page in PAGES:
        targets = [t.split("#", 1)[0] for t in relative_links(page)]
        assert "../README.md" in targets, f"{page.name} has no link back to the README"


def test_the_readme_stays_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 220, f"README.md has {lines} lines; move the detail into docs/"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(path: Path):
    broken = []
    for target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path.resolve()
        if not destination.is_relative_to(ROOT):
            broken.append(f"{target}: leaves the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_to_files_outside_the_repository(path: Path):
    text = path.read_text(encoding="utf-8")
    outside = re.findall(r"\.\./shared\b|/work/|\bdomain\.md\b|\bdesign\.md\b", text)
    assert not outside, f"{path.relative_to(ROOT)} points outside the repository: {outside}"
