"""The layers of scanbot, checked on its source: every module's imports (parsed with ast) go
down the allowed dependencies between packages, the packages form no cycle, and no module
imports an underscore name of another.

A unit is a package under scanbot/, except that orchestration modules (which call the
layers below them and are called by nothing but the composition root) are units of their
own: the alert service above triage, the Slack listeners above triage and the renderers.
Violations not fixed yet are listed in KNOWN_* below, each with who removes it; an entry
that no longer occurs fails the test, so the lists only shrink.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "scanbot"

# Orchestration modules that are units of their own (a prefix names a module or a package).
ORCHESTRATION = {
    "scanbot.alerts.service": "alerts.service",
    "scanbot.slack.listeners": "slack.listeners",
    "scanbot.slack.channel_commands": "slack.listeners",
}
# Who may import whom. Composition roots (app, cli, web, demo, runtimes, __main__) may
# import anything.
COMPOSITION_ROOTS = {"app", "cli", "web", "demo", "runtimes", "__main__"}
ALLOWED: dict[str, set[str]] = {
    "hostedscan": set(),  # the API client: nothing of scanbot
    "domain": {"hostedscan"},  # and of it only hostedscan.models (see below)
    "scans": {"domain", "hostedscan"},
    "store": {"domain", "failpoints", "settings"},
    "slack": {"domain", "scans", "hostedscan"},
    "alerts": {"domain", "scans", "hostedscan", "store", "slack", "failpoints"},
    "triage": {"domain", "scans", "hostedscan", "store", "slack", "alerts"},
    "operations": {"domain", "scans", "hostedscan", "store", "slack"},
    "alerts.service": {
        "alerts",
        "triage",
        "slack",
        "store",
        "domain",
        "hostedscan",
        "metrics",
        "summaries",
    },
    "slack.listeners": {
        "slack",
        "triage",
        "operations",
        "store",
        "scans",
        "domain",
        "hostedscan",
        "summaries",
    },
    # Scheduled summaries: their commands, computation, chart, schedule and job.
    "summaries": {"domain", "scans", "hostedscan", "store", "slack", "alerts"},
    "sandbox": {"hostedscan"},
    # Leaves: settings, logging, the ASGI body cap, the server, the Socket Mode client, the
    # crash points.
    "settings": set(),
    "logs": set(),
    "body_cap": set(),
    "serving": set(),
    "socket_mode": set(),
    "failpoints": set(),
    "metrics": set(),  # prometheus_client's registry; filled by the service and the root
    "scanbot": set(),  # the package itself (its version)
}
# Pure renderers: data in, Block Kit out. They may import the domain, the parser's tables,
# HostedScan's models and each other, nothing with I/O (store, alerts, triage, listeners).
RENDERERS = ("rich", "text", "kit", "cards", "terminal")
RENDERER_MAY_IMPORT = ("scanbot.domain", "scanbot.scans", "scanbot.hostedscan.models")

# Module imports outside ALLOWED, to be removed by the helper named.
KNOWN_EDGES: dict[tuple[str, str], str] = {}
# Underscore names imported across modules, to be made public by the helper named.
KNOWN_UNDERSCORE: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (a submodule when `from package import module`)
    name: str | None  # the name taken from it (None: the module itself)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> Iterator[Import]:
    """Every `import scanbot...` and `from scanbot... import` in the file, at any depth."""
    module = module_name(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "scanbot":
                    yield Import(module, alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "scanbot":
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if is_module(submodule):
                    yield Import(module, submodule, None)
                else:
                    yield Import(module, node.module, alias.name)


def unit(module: str) -> str:
    for prefix, name in ORCHESTRATION.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "scanbot"


SOURCES = sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)
IMPORTS = [i for path in SOURCES for i in imports_of(path)]


def test_the_source_was_found() -> None:
    modules = {module_name(p) for p in SOURCES}
    assert {"scanbot.domain.events", "scanbot.store.database", "scanbot.alerts.cycle"} <= modules
    assert len(IMPORTS) > 100


def test_every_unit_is_placed() -> None:
    units = {unit(module_name(p)) for p in SOURCES}
    assert not units - set(ALLOWED) - COMPOSITION_ROOTS


def test_imports_go_down_the_allowed_dependencies() -> None:
    wrong = []
    for i in IMPORTS:
        source, target = unit(i.module), unit(i.target)
        if source == target or source in COMPOSITION_ROOTS or (i.module, i.target) in KNOWN_EDGES:
            continue
        if target not in ALLOWED.get(source, set()):
            wrong.append(f"{i.module} ({source}) imports {i.target} ({target})")
    assert wrong == []


def test_the_known_violations_still_occur() -> None:
    found = {(i.module, i.target) for i in IMPORTS}
    assert set(KNOWN_EDGES) - found == set(), "fixed: remove it from KNOWN_EDGES"


def test_no_cycles_between_units() -> None:
    graph: dict[str, set[str]] = {}
    for i in IMPORTS:
        source, target = unit(i.module), unit(i.target)
        if source != target and (i.module, i.target) not in KNOWN_EDGES:
            graph.setdefault(source, set()).add(target)
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_the_allowed_table_itself_has_no_cycle() -> None:
    graphlib.TopologicalSorter(ALLOWED).prepare()


def test_the_domain_imports_only_hostedscan_models() -> None:
    outside = [
        f"{i.module} imports {i.target}"
        for i in IMPORTS
        if unit(i.module) == "domain"
        and unit(i.target) != "domain"
        and i.target != "scanbot.hostedscan.models"
    ]
    assert outside == []


@pytest.mark.parametrize("package", ["hostedscan"])
def test_the_api_client_imports_nothing_else_of_scanbot(package: str) -> None:
    assert [i for i in IMPORTS if unit(i.module) == package and unit(i.target) != package] == []


def test_the_store_imports_nothing_of_alerts_triage_or_slack() -> None:
    above = ("alerts", "alerts.service", "triage", "slack", "slack.listeners")
    assert [i for i in IMPORTS if unit(i.module) == "store" and unit(i.target) in above] == []


def test_renderers_are_pure() -> None:
    def renderer(module: str) -> bool:
        parts = module.split(".")
        return len(parts) > 2 and parts[1] == "slack" and parts[2] in RENDERERS

    impure = [
        f"{i.module} imports {i.target}"
        for i in IMPORTS
        if renderer(i.module)
        and not renderer(i.target)
        and not i.target.startswith(RENDERER_MAY_IMPORT)
        # Button ids and their encoders, and their decoders (for the triage service's
        # renderer protocol, until Triage.assign_form goes): pure.
        and i.target not in ("scanbot.slack.actions", "scanbot.slack.payloads")
    ]
    assert impure == []


# Slack's Web API errors (slack_sdk's and aiohttp's) are read in one module, the notifier,
# which turns them into its typed failures. The others: the fake Slack (sandbox), and
# violations not fixed yet, each with who removes it.
SLACK_ERRORS = ("slack_sdk.errors", "aiohttp")
# The notifier reads Slack's errors for every Web API call; Socket Mode's connection policy
# reads its own transport's (aiohttp, and apps.connections.open's refusals).
READS_SLACK_ERRORS = {"scanbot.slack.notifier", "scanbot.socket_mode"}
KNOWN_SLACK_ERRORS: dict[str, str] = {}


def test_slacks_errors_are_read_in_one_module() -> None:
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == e or n.startswith(e + ".") for n in names for e in SLACK_ERRORS):
                found.add(module_name(path))
    outside = {m for m in found if unit(m) != "sandbox"} - READS_SLACK_ERRORS
    assert outside - set(KNOWN_SLACK_ERRORS) == set()
    assert set(KNOWN_SLACK_ERRORS) - outside == set(), "fixed: remove it from KNOWN_SLACK_ERRORS"


def test_no_underscore_names_across_modules() -> None:
    crossing = {
        (i.module, i.target, i.name)
        for i in IMPORTS
        if i.name is not None
        and i.name.startswith("_")
        and not i.name.startswith("__")  # __version__ and the like are public
        and i.target != i.module
    }
    assert crossing - KNOWN_UNDERSCORE == set()
    assert KNOWN_UNDERSCORE - crossing == set(), "fixed: remove it from KNOWN_UNDERSCORE"


def test_no_underscore_attributes_of_other_modules() -> None:
    """`module._name` on a scanbot module imported as a whole counts too."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        aliases = {
            alias.asname or alias.name.split(".")[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom | ast.Import)
            for alias in node.names
            if is_module(
                f"{node.module}.{alias.name}" if isinstance(node, ast.ImportFrom) else alias.name
            )
        }
        found += [
            f"{module_name(path)}: {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ]
    assert found == []
