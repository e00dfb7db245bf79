"""The package layout keeps its promises: API, CLI and console reach the
store only through the service, and the service's object classes do not
shadow each other's operations."""

from __future__ import annotations

import ast
from pathlib import Path

import espf
from espf.service import Service
from espf.service.core import ServiceCore

PACKAGE = Path(espf.__file__).parent

# What a client layer may take from espf.store: the CLI opens the database it
# was pointed at.
ALLOWED_FROM_STORE = {"create_store"}


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _store_imports(path: Path) -> set[str]:
    """Names a module imports from espf.store and its submodules."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("espf.store"):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("espf.store"))
    return found


def _store_attribute_uses(path: Path) -> list[int]:
    """Lines that read ``<something>.store``: reaching past the service."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]


def test_api_cli_and_console_reach_the_store_only_through_the_service() -> None:
    for path in _modules("api") + _modules("cli") + _modules("web"):
        extra = _store_imports(path) - ALLOWED_FROM_STORE
        assert not extra, f"{path.relative_to(PACKAGE)} imports {sorted(extra)} from espf.store"
        lines = _store_attribute_uses(path)
        assert not lines, f"{path.relative_to(PACKAGE)} reads .store on lines {lines}"


def test_service_modules_stay_small() -> None:
    for path in _modules("service"):
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines; split it by object"


def test_each_operation_is_defined_by_one_object_class() -> None:
    """Service combines the object classes by inheritance: a name defined in
    two of them would silently hide one behind the other."""
    owners: dict[str, str] = {}
    for cls in Service.__mro__:
        if cls is Service or not issubclass(cls, ServiceCore):
            continue
        for name in vars(cls):
            if name.startswith("__"):
                continue
            assert name not in owners, f"{name} is defined by {owners[name]} and {cls.__name__}"
            owners[name] = cls.__name__
    assert "event_create" in owners and "handler_get" in owners
