"""Hypothesis-mutated versions of the reference facility file (keys deleted, values of the wrong type, unknown
keys, broken YAML, ids given twice) give the loader's FacilityError naming the key or the line, never another
exception, and `carewatch check` prints that error instead of a traceback."""

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carewatch.cli import main
from devices.loader import FacilityError, parse_facility
from tests.conftest import FACILITY_FILE

TEXT = FACILITY_FILE.read_text(encoding="utf-8")
LINES = TEXT.splitlines(keepends=True)
# Lines holding `key: value`, where a mutation changes a value or a key.
KEYED = [i for i, line in enumerate(LINES) if re.match(r"^\s*(- )?[A-Za-z_][\w-]*:\s*\S", line)]
IDS = [i for i, line in enumerate(LINES) if re.match(r"^\s*- id: \S", line)]
WRONG = st.sampled_from(["[]", "{}", "null", "-1", "1e999", "yes", '"x"', "'", "[1, 2", "&a", "*nope", "!!binary AA",
                         "2026-13-45", "0x10", "~", "|", "🔥", "\"\\u0000\""]) | st.text(max_size=12)


@st.composite
def mutated(draw: Any) -> str:
    """The reference file with one to three mutations a person editing it by hand could make."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["delete", "retype", "unknown", "truncate", "duplicate", "indent"]))
        i = draw(st.sampled_from(KEYED))
        if i >= len(lines):
            continue
        if how == "delete":
            del lines[i]
        elif how == "retype":
            lines[i] = re.sub(r":\s*.*$", f": {draw(WRONG)}", lines[i].rstrip("\n")) + "\n"
        elif how == "unknown":
            indent = re.match(r"^\s*(- )?", lines[i]).group(0).replace("-", " ")  # type: ignore[union-attr]
            lines.insert(i + 1, f"{indent}{draw(st.from_regex(r'[a-z_]{1,10}', fullmatch=True))}_x: 1\n")
        elif how == "truncate":
            text = "".join(lines)
            return text[: draw(st.integers(0, len(text)))]
        elif how == "duplicate":
            j = draw(st.sampled_from(IDS))
            lines.insert(j + 1, lines[j].replace("- id:", "  id:", 1)) if draw(st.booleans()) else None
            lines[draw(st.sampled_from(IDS))] = lines[j]
        else:
            lines[i] = ("   " if draw(st.booleans()) else "\t") + lines[i]
    return "".join(lines)


def problems_of(text: str) -> list[Any] | None:
    """The loader's problems for a text, or None when it is still a valid facility."""
    try:
        parse_facility(text, source="facility.yaml")
    except FacilityError as exc:
        return exc.problems
    return None


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(mutated())
def test_a_mutated_facility_file_gives_a_clear_error_or_loads(text: str) -> None:
    """Only FacilityError escapes, and each problem says where: a key path or a line (or both)."""
    problems = problems_of(text)
    if problems is None:
        return
    assert problems, "a FacilityError without a problem"
    for problem in problems:
        assert problem.path or problem.line, f"a problem saying neither key nor line: {problem}"
        assert problem.message.strip()
        assert "Traceback" not in str(problem)


@pytest.mark.parametrize(("change", "says"), [
    (lambda t: t.replace("timezone: ", "timezon: ", 1), "timezon"),
    (lambda t: t.replace("  - id: hq\n", "  - id: 7\n", 1), "sites[0].id"),
    (lambda t: t + "\n  bogus: [1, 2\n", "not valid YAML"),
    (lambda t: t.replace("version: 1", "version: 1\nversion: 1", 1), "given twice"),
    (lambda t: t.replace("timezone: ", "timezone: \x1f", 1), "is not allowed in YAML"),  # pasted from a PDF
])
def test_carewatch_check_prints_the_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          change: Any, says: str) -> None:
    """What an installer sees after a typo: exit 2 and the key or line to fix."""
    path = tmp_path / "facility.yaml"
    path.write_text(change(TEXT), encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 2
    printed = capsys.readouterr().err
    assert says in printed and "Traceback" not in printed
    assert re.search(r"line \d+", printed), printed


def test_the_mutations_start_from_a_valid_file() -> None:
    """Otherwise every mutation would fail for the original's fault."""
    assert problems_of(TEXT) is None and len(KEYED) > 100 and len(IDS) > 20
