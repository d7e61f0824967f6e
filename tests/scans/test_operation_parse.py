"""`/scans run`, `targets`, `target add`, `report` and `audit`: every word and refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanbot.scans.parse import (
    AUDIT_REASON,
    BAD_ID_REASON,
    BAD_TAG_REASON,
    LABEL_REASON,
    MAX_RUN_TARGETS,
    MIXED_TARGETS_REASON,
    OPERATION_HELP,
    REPORT_FILTER_REASON,
    REPORT_REASON,
    RUN_REASON,
    RUN_TYPE_REASON,
    TARGET_ADD_REASON,
    TARGETS_REASON,
    TOO_MANY_TAGS_REASON,
    TOO_MANY_TARGETS_REASON,
    AddTarget,
    BadTargets,
    ListScans,
    ListTargets,
    MakeReport,
    OperationUsage,
    RunScan,
    ShowAudit,
    ShowUsage,
    parse_list_command,
    parse_scan_command,
    parse_scans_command,
)

COMMANDS = [
    ("run openvas example.com", RunScan("OPENVAS", hosts=("example.com",))),
    (
        "RUN zap https://shop.example.com 203.0.113.7 example.com example.com",
        RunScan("OWASP_ZAP", hosts=("https://shop.example.com", "203.0.113.7", "example.com")),
    ),
    ("run nmap id:t-1 ID:t_2", RunScan("NMAP", target_ids=("t-1", "t_2"))),
    ("run sslyze tag:prod tag:Web", RunScan("SSLYZE", tags=("prod", "Web"))),
    ("targets", ListTargets()),
    ("targets Shop", ListTargets("Shop")),
    ("target add shop.example.com", AddTarget("shop.example.com")),
    (
        "target ADD 203.0.113.9 label:Shop tag:prod tag:web tag:prod",
        AddTarget("203.0.113.9", "Shop", ("prod", "web")),
    ),
    ("report", MakeReport()),
    (
        "report html openvas zap severity:high severity:medium tag:prod",
        MakeReport("HTML", ("OPENVAS", "OWASP_ZAP"), ("HIGH", "MEDIUM"), tags=("prod",)),
    ),
    ("report PDF target:t-1 target:example.com", MakeReport(targets=("t-1", "example.com"))),
    ("audit", ShowAudit()),
    ("audit 3", ShowAudit(offset=2)),
]


@pytest.mark.parametrize(("text", "expected"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_commands(text: str, expected: object) -> None:
    assert parse_scans_command(text) == expected


REFUSED = [
    ("run", OperationUsage("run", RUN_REASON)),
    ("run openvas", OperationUsage("run", RUN_REASON)),
    ("run example.com", OperationUsage("run", RUN_TYPE_REASON, "example.com")),
    ("run zap id:bad/id", OperationUsage("run", BAD_ID_REASON, "id:bad/id")),
    ("run zap tag:", OperationUsage("run", BAD_TAG_REASON, "tag:")),
    ("run zap example.com id:t1", OperationUsage("run", MIXED_TARGETS_REASON)),
    ("targets a b", OperationUsage("targets", TARGETS_REASON, "b")),
    ("target", OperationUsage("target", TARGET_ADD_REASON)),
    ("target remove x.example.com", OperationUsage("target", TARGET_ADD_REASON, "remove")),
    (
        "target add a.example.com colour:red",
        OperationUsage("target", TARGET_ADD_REASON, "colour:red"),
    ),
    ("target add a.example.com label:", OperationUsage("target", LABEL_REASON, "label:")),
    ("target add a.example.com label:a label:b", OperationUsage("target", LABEL_REASON, "label:b")),
    ("report docx", OperationUsage("report", REPORT_REASON, "docx")),
    ("report severity:urgent", OperationUsage("report", REPORT_REASON, "severity:urgent")),
    ("report target:t1 tag:prod", OperationUsage("report", REPORT_FILTER_REASON)),
    ("audit me", OperationUsage("audit", AUDIT_REASON, "me")),
]


@pytest.mark.parametrize(("text", "expected"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals(text: str, expected: OperationUsage) -> None:
    assert parse_scans_command(text) == expected


def test_bad_targets_are_all_named_before_anything_is_sent() -> None:
    result = parse_scans_command(
        "run openvas example.com 10.0.0.5 localhost ftp://x.example.com not_a_host 203.0.113.7"
    )
    assert isinstance(result, BadTargets)
    named = dict(result.problems)
    assert set(named) == {"10.0.0.5", "localhost", "ftp://x.example.com", "not_a_host"}
    assert "private" in named["10.0.0.5"]
    assert "http" in named["ftp://x.example.com"]


def test_a_private_target_is_not_added() -> None:
    assert isinstance(parse_scans_command("target add 192.168.1.1"), BadTargets)


def test_too_many_targets() -> None:
    hosts = " ".join(f"h{n}.example.com" for n in range(MAX_RUN_TARGETS + 1))
    assert parse_scans_command(f"run nmap {hosts}") == OperationUsage(
        "run", TOO_MANY_TARGETS_REASON
    )
    hosts = " ".join(f"h{n}.example.com" for n in range(MAX_RUN_TARGETS))
    assert isinstance(parse_scans_command(f"run nmap {hosts}"), RunScan)


def test_too_many_tags() -> None:
    tags = " ".join(f"tag:t{n}" for n in range(11))
    assert parse_scans_command(f"target add a.example.com {tags}") == OperationUsage(
        "target", TOO_MANY_TAGS_REASON
    )


@pytest.mark.parametrize("word", list(OPERATION_HELP))
def test_operation_words_never_list_or_show_a_scan(word: str) -> None:
    assert parse_list_command(word) == ShowUsage()
    assert parse_scan_command(word) == ShowUsage()


@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    for prefix in ("run ", "run zap ", "target add ", "report ", "targets ", "audit "):
        result = parse_scans_command(prefix + text)
        assert not isinstance(result, ListScans) or not prefix.strip()
