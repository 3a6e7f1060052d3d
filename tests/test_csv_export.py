"""Every CSV SLA Hub writes neutralises cells a spreadsheet would run as formulas."""

import csv
import io

import pytest

from slahub.csv_export import csv_lines, csv_text, safe_cell


@pytest.mark.parametrize(
    "value, cell",
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-2.5", "-2.5"),  # a plain number stays a number
        ("+49", "+49"),
        ("-12%", "-12%"),
        ("Webinar", "Webinar"),
        (42, "42"),
        (None, ""),
    ],
)
def test_a_formula_cell_is_neutralised(value, cell):
    assert safe_cell(value) == cell


def test_the_written_file_reads_back_with_the_formula_inert():
    text = csv_text(["Source", "Leads"], [["=1+1", 3], ["Web", -1]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["Source", "Leads"],
        ["'=1+1", "3"],
        ["Web", "-1"],
    ]
    assert "".join(csv_lines(["Source", "Leads"], [["=1+1", 3], ["Web", -1]])) == text
