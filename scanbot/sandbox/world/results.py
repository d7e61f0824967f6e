"""A finished scan's result files (HTML, PDF, XML, JSON reports) and their ids, and the
account's risk reports (`POST /v1/reports`) as PDF or HTML.

Pure: a report is rendered from the scan's facts when asked, never stored. Result i of
scan `seq` has id number `seq * 4 + i`, i indexing RESULT_TYPES.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import NamedTuple
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from scanbot.sandbox.world.ids import RESULT_ID, IdCodec
from scanbot.sandbox.world.vocabulary import FAILED, JSON, RESULT_TYPES, SUCCEEDED


class Finding(NamedTuple):
    """One risk as a report lists it."""

    threat_level: str
    title: str
    target: str


class Report(NamedTuple):
    """What a result file says about its scan."""

    scan_id: str
    scan_type: str
    state: str
    targets: list[str]
    findings: list[Finding]


def result_indexes(state: str) -> tuple[int, ...]:
    """Which of RESULT_TYPES a scan in this state has: all when done, the log if it failed."""
    if state == SUCCEEDED:
        return (0, 1, 2, 3)
    if state == FAILED:
        return (3,)  # the scanner's log
    return ()


def result_id(ids: IdCodec, seq: int, index: int) -> str:
    return ids.encode(RESULT_ID, seq * 4 + index)


def result_position(ids: IdCodec, text: str) -> tuple[int, int] | None:
    """The (seq, index into RESULT_TYPES) a result id names, or None."""
    value = ids.decode(RESULT_ID, text)
    return None if value is None else divmod(value, 4)


def render_result(content_type: str, report: Report) -> bytes:
    """The file of this content type (one of RESULT_TYPES)."""
    return _RENDERERS[content_type](report)


def _json_report(report: Report) -> bytes:
    document: JSON = {
        "scan_id": report.scan_id,
        "type": report.scan_type,
        "state": report.state,
        "targets": report.targets,
        "risks": [
            {"title": f.title, "threat_level": f.threat_level, "target": f.target}
            for f in report.findings
        ],
    }
    if report.state == FAILED:
        document["error"] = "The scanner exited early: connection reset by peer"
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _html_report(report: Report) -> bytes:
    scan_type, scan_id = report.scan_type, report.scan_id
    rows = "".join(
        f"<tr><td>{html.escape(f.threat_level)}</td>"
        f"<td>{html.escape(f.title)}</td><td>{html.escape(f.target)}</td></tr>"
        for f in report.findings
    )
    items = "".join(f"<li>{html.escape(t)}</li>" for t in report.targets)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(scan_type)} report {scan_id}</title></head><body>"
        f"<h1>{html.escape(scan_type)} scan {html.escape(scan_id)}</h1>"
        f"<h2>Targets</h2><ul>{items}</ul><h2>Risks</h2>"
        f"<table><tr><th>Threat</th><th>Title</th><th>Target</th></tr>{rows}</table>"
        "</body></html>\n"
    ).encode()


def _xml_report(report: Report) -> bytes:
    body = "".join(f"<target>{xml_escape(t)}</target>" for t in report.targets)
    body += "".join(
        f"<risk threat_level={quoteattr(f.threat_level)} "
        f"target={quoteattr(f.target)}>{xml_escape(f.title)}</risk>"
        for f in report.findings
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<report scan_id={quoteattr(report.scan_id)} type={quoteattr(report.scan_type)}>"
        f"{body}</report>\n"
    ).encode()


def _pdf_report(report: Report) -> bytes:
    lines = [
        "HostedScan sandbox report",
        f"Scan {report.scan_id} ({report.scan_type})",
        f"Targets: {len(report.targets)}",
        f"Risks: {len(report.findings)}",
    ]
    lines += [f"[{f.threat_level}] {f.title}" for f in report.findings[:40]]
    return pdf(lines)


class RiskRow(NamedTuple):
    """One risk as an account report lists it."""

    threat_level: str
    title: str
    target: str
    status: str
    first_detected: str


PDF_ROWS = 40  # what fits on the one page under the header


def render_risk_report(
    report_format: str, asked: Sequence[str], rows: Sequence[RiskRow], total: int
) -> bytes:
    """An account report: what was asked for, how many risks matched, and `rows` of them."""
    shown = f"{total} risks matched" + (
        f"; the worst {len(rows)} listed" if total > len(rows) else ""
    )
    if report_format == "PDF":
        lines = ["HostedScan risk report", *asked, shown]
        lines += [
            f"[{r.threat_level}] {r.title} - {r.target} ({r.status})" for r in rows[:PDF_ROWS]
        ]
        return pdf(lines)
    header = "".join(f"<li>{html.escape(line)}</li>" for line in asked)
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>HostedScan risk report</title></head><body>"
        f"<h1>HostedScan risk report</h1><ul>{header}</ul><p>{html.escape(shown)}</p>"
        "<table><tr><th>Threat</th><th>Title</th><th>Target</th><th>Status</th>"
        f"<th>First detected</th></tr>{cells}</table></body></html>\n"
    ).encode()


_RENDERERS: dict[str, Callable[[Report], bytes]] = dict(
    zip(RESULT_TYPES, (_html_report, _pdf_report, _xml_report, _json_report), strict=True)
)


def pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF with these lines, valid enough for any reader (offsets and all)."""

    def literal(text: str) -> str:
        ascii_text = text.encode("ascii", "replace").decode("ascii")[:100]
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 50 770 Td 15 TL\n"
    stream += "".join(f"({literal(line)}) '\n" for line in lines) + "ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream".encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
