"""The README's table of what each role may do is the one the code enforces."""

from pathlib import Path

from api.role_table import END, START, role_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_what_each_role_may_do_exactly_as_the_code_enforces_it() -> None:
    text = README.read_text()
    assert START in text and END in text, "the README's security section lost its role table"
    shown = text[text.index(START) : text.index(END) + len(END)]
    assert shown == role_table(), "regenerate it: python -m api.role_table"
