"""The backend's layers (docs/architecture.md), checked on the source with ``ast``: no chain,
no app, no import of the backend itself.

Layers and ranks: core 0; chain 1 and schemas 1 (peers that do not import each other);
services 2; web 3 and api 3 (peers that do not import each other). A module may import its
own layer and the layers of lower rank; the app-level modules (backend/__init__.py, cli.py,
serve.py) may import anything and nothing imports them. Further: web and api take from
backend.chain only backend.chain.errors (its exception types); services never touch Flask's
``request`` or ``g``; no module is over MAX_LINES lines; every package under backend/ (not
backend itself, whose docstring describes the app) has a one-line docstring; every backend
import names a module or a name that exists.

Every import counts, function-local ones too, absolute (``backend.x``) or relative. The
checkers take source text, so the ``*_detects_*`` tests feed them synthetic modules that
break a rule and make sure the breach is reported."""
import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"

RANKS = {"core": 0, "chain": 1, "schemas": 1, "services": 2, "web": 3, "api": 3}
APP = "app"  # backend/__init__.py, cli.py, serve.py
APP_MODULES = {"backend", "backend.cli", "backend.serve"}
PEERS = {frozenset({"chain", "schemas"}), frozenset({"web", "api"})}
PORTALS = {"web", "api"}  # may take from the chain layer only its exception types
CHAIN_ALLOWED_TO_PORTALS = {"backend.chain.errors"}
REQUEST_STATE = {"request", "g"}  # Flask's per-request objects, not for services
MAX_LINES = 400


def backend_modules():
    """{module name: (path, is_package)} of every .py under backend/."""
    found = {}
    for path in sorted(BACKEND.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = backend_modules()
KNOWN = frozenset(MODULES)


def layer_of(module):
    """The layer of a backend module name, "app", or None for an unknown place."""
    if module in APP_MODULES:
        return APP
    parts = module.split(".")
    if parts[0] != "backend" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANKS else None


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the backend module imported (a submodule when ``from pkg import submodule``)
    name: str | None  # the name taken from ``target`` (None: the module itself)

    def __str__(self):
        return f"{self.target}" + (f" (name {self.name})" if self.name else "")


def resolve_base(module, is_package, level, dotted):
    """The absolute module of ``from <level dots><dotted> import …`` written in ``module``;
    None when the dots climb above ``backend``."""
    if level == 0:
        return dotted
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 >= len(package):
        return None
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([dotted] if dotted else []))


def imports_of(module, is_package, tree, known=KNOWN):
    """The backend imports of a module (every ``import``, at any depth), and the relative
    imports that climb above ``backend`` (as error strings)."""
    found, errors = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "backend" or alias.name.startswith("backend."):
                    found.append(Import(node.lineno, alias.name, None))
        elif isinstance(node, ast.ImportFrom):
            base = resolve_base(module, is_package, node.level, node.module)
            if base is None:
                errors.append(f"line {node.lineno}: relative import above the backend package")
                continue
            if base != "backend" and not base.startswith("backend."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    found.append(Import(node.lineno, sub, None))
                else:
                    found.append(Import(node.lineno, base, None if alias.name == "*" else alias.name))
    return found, errors


def layer_breaches(module, is_package, tree, known=KNOWN):
    """Rules (a) and (b): imports of a higher layer or of a peer; web and api taking from
    backend.chain anything but its errors."""
    source_layer = layer_of(module)
    found, breaches = imports_of(module, is_package, tree, known)
    breaches = [f"{module}: {e}" for e in breaches]
    if source_layer is None:
        return [f"{module}: not in any layer ({', '.join(RANKS)}) nor app-level"] + breaches
    if source_layer == APP:
        return breaches
    for imp in found:
        target_layer = layer_of(imp.target)
        where = f"{module} line {imp.line} imports {imp}"
        if target_layer is None:
            breaches.append(f"{where}: not in any layer")
        elif target_layer == APP:
            breaches.append(f"{where}: the app level")
        elif frozenset({source_layer, target_layer}) in PEERS:
            breaches.append(f"{where}: {source_layer} and {target_layer} are peers")
        elif RANKS[target_layer] > RANKS[source_layer]:
            breaches.append(f"{where}: {target_layer} is above {source_layer}")
        elif (source_layer in PORTALS and target_layer == "chain"
              and imp.target not in CHAIN_ALLOWED_TO_PORTALS):
            breaches.append(f"{where}: {source_layer} takes from the chain layer only "
                            f"{', '.join(sorted(CHAIN_ALLOWED_TO_PORTALS))}")
    return breaches


def request_state_uses(module, tree):
    """Rule (e): ``from flask import request/g`` (or flask.globals), ``flask.request``."""
    uses = []
    flask_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in ("flask", "flask.globals"):
            for alias in node.names:
                if alias.name in REQUEST_STATE or alias.name == "*":
                    uses.append(f"{module} line {node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("flask", "flask.globals"):
                    flask_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in REQUEST_STATE
                and ast.unparse(node.value) in flask_names):
            uses.append(f"{module} line {node.lineno}: {ast.unparse(node)}")
    return uses


def docstring_problem(module, tree):
    """Rule (d): a package's docstring is there and is one line."""
    doc = ast.get_docstring(tree)
    if not doc or not doc.strip():
        return f"{module}: no docstring"
    if "\n" in doc.strip():
        return f"{module}: docstring of {len(doc.strip().splitlines())} lines"
    return None


def top_level_names(tree):
    """Names a module binds at its top level (defs, classes, assignments, imports), looking
    into if/try/with/for blocks but not into functions or classes. None: a star import."""
    names = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        else:
            for child in ast.walk(node) if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else ():
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
            for field in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, field, []) or [])
            targets = [node.target] if isinstance(node, ast.For) else []
            targets += [i.optional_vars for i in getattr(node, "items", []) if i.optional_vars]
            for child in (c for t in targets for c in ast.walk(t)):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
    return names


def missing_targets(module, is_package, tree, trees, known=KNOWN):
    """Backend imports of a module or name that does not exist."""
    found, _ = imports_of(module, is_package, tree, known)
    missing = []
    for imp in found:
        if imp.target not in known:
            missing.append(f"{module} line {imp.line}: no module {imp.target}")
        elif imp.name is not None:
            names = top_level_names(trees[imp.target])
            if names is not None and imp.name not in names:
                missing.append(f"{module} line {imp.line}: {imp.target} has no {imp.name}")
    return missing


@pytest.fixture(scope="module")
def parsed():
    return {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for name, (path, _) in MODULES.items()}


def synthetic(module, source, is_package=False, extra=()):
    """Runs the layer checker on ``source`` as if it were ``module``."""
    known = KNOWN | {module, *extra}
    return layer_breaches(module, is_package, ast.parse(source), known)


# --- the backend as it is ---------------------------------------------------------------

def test_the_backend_has_its_layers():
    layers = {layer_of(m) for m in MODULES}
    assert set(RANKS) | {APP} <= layers, "a layer package is missing (or the test finds no modules)"
    assert len(MODULES) > 25


def test_no_module_imports_a_higher_layer_or_a_peer_and_portals_take_only_chain_errors(parsed):
    breaches = [b for m, (_, pkg) in MODULES.items() for b in layer_breaches(m, pkg, parsed[m])]
    assert not breaches, "layer breaches:\n" + "\n".join(breaches)


def test_services_do_not_use_flask_request_or_g(parsed):
    uses = [u for m in MODULES if layer_of(m) == "services" for u in request_state_uses(m, parsed[m])]
    assert not uses, "services using the Flask request:\n" + "\n".join(uses)


def test_no_module_is_over_the_line_limit():
    over = {str(path.relative_to(ROOT)): n for path, _ in MODULES.values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: " + ", ".join(f"{p} ({n})" for p, n in sorted(over.items()))


def test_every_package_has_a_one_line_docstring(parsed):
    packages = [m for m, (_, pkg) in MODULES.items() if pkg and m != "backend"]
    assert packages
    problems = [p for m in packages if (p := docstring_problem(m, parsed[m]))]
    assert not problems, "package docstrings:\n" + "\n".join(problems)


def test_every_backend_import_exists(parsed):
    missing = [x for m, (_, pkg) in MODULES.items() for x in missing_targets(m, pkg, parsed[m], parsed)]
    assert not missing, "imports of what is not there:\n" + "\n".join(missing)


# --- the checkers catch what they are for -------------------------------------------------

@pytest.mark.parametrize("module, source, is_package, expect", [
    ("backend.services.fake", "from ..web import x\n", False, "web is above services"),
    ("backend.services.fake", "from backend.web.helpers import x\n", False, "web is above services"),
    ("backend.services.fake", "def f():\n    from ..api import routes\n", False, "api is above services"),
    ("backend.services.fake", "import backend.web.auth\n", False, "web is above services"),
    ("backend.services.fake", "from .. import create_app\n", False, "the app level"),
    ("backend.core.fake", "from ..chain import get_chain\n", False, "chain is above core"),
    ("backend.core", "from ..services import x\n", True, "services is above core"),
    ("backend.chain.fake", "if True:\n    from ..schemas import m\n", False, "chain and schemas are peers"),
    ("backend.schemas.fake", "from ..chain.errors import ChainError\n", False, "schemas and chain are peers"),
    ("backend.web.fake", "from backend.api import routes\n", False, "web and api are peers"),
    ("backend.api.fake", "from ..web import helpers\n", False, "api and web are peers"),
    ("backend.web.fake", "from ..chain.client import ChainClient\n", False, "only backend.chain.errors"),
    ("backend.api.fake", "from ..chain import get_chain\n", False, "only backend.chain.errors"),
    ("backend.web.fake", "class A:\n    def f(self):\n        from ..chain import signer\n", False,
     "only backend.chain.errors"),
    ("backend.core.fake", "from ... import x\n", False, "above the backend package"),
    ("backend.extra", "x = 1\n", False, "not in any layer"),
])
def test_layer_checker_detects_breaches(module, source, is_package, expect):
    breaches = synthetic(module, source, is_package)
    assert any(expect in b for b in breaches), breaches


@pytest.mark.parametrize("module, source, is_package", [
    ("backend.services.fake", "from ..chain import get_chain\nfrom ..schemas import m\nfrom ..core.db import db\n",
     False),
    ("backend.services", "from .invoices import find\nfrom . import issuance\n", True),
    ("backend.web.fake", "from ..chain.errors import ChainError\nfrom ..chain import errors\n"
                         "from ..services import invoices\nfrom . import helpers\n", False),
    ("backend.api.fake", "import backend.chain.errors\nfrom backend.core import canonical\n", False),
    ("backend.cli", "from .web import helpers\nfrom .api import routes\nfrom .chain.signer import Signer\n", False),
    ("backend", "from . import api, chain, cli, web\n", True),
])
def test_layer_checker_allows_what_the_rules_allow(module, source, is_package):
    assert synthetic(module, source, is_package) == []


def test_relative_imports_resolve_from_the_module_s_package():
    assert resolve_base("backend.services.issuance", False, 1, "invoices") == "backend.services.invoices"
    assert resolve_base("backend.services", True, 1, "invoices") == "backend.services.invoices"
    assert resolve_base("backend.services.issuance", False, 2, "chain") == "backend.chain"
    assert resolve_base("backend.services.issuance", False, 2, None) == "backend"
    assert resolve_base("backend.web", True, 2, "core.db") == "backend.core.db"
    assert resolve_base("backend.cli", False, 1, "core") == "backend.core"
    assert resolve_base("backend.cli", False, 2, None) is None
    found, _ = imports_of("backend.web.fake", False, ast.parse("from ..chain import errors, get_chain\n"))
    assert [(i.target, i.name) for i in found] == [("backend.chain.errors", None), ("backend.chain", "get_chain")]


@pytest.mark.parametrize("source, flagged", [
    ("from flask import current_app, request\n", True),
    ("def f():\n    from flask import g\n", True),
    ("from flask.globals import request as r\n", True),
    ("import flask\n\ndef f():\n    return flask.g.user\n", True),
    ("import flask as fl\n\ndef f():\n    return fl.request.args\n", True),
    ("from flask import current_app\n\ndef f(request):\n    return request\n", False),
])
def test_request_checker_detects_flask_request_state(source, flagged):
    assert bool(request_state_uses("backend.services.fake", ast.parse(source))) == flagged


@pytest.mark.parametrize("source, problem", [
    ('"""One line."""\n', None),
    ('"""Two\nlines."""\n', "docstring of 2 lines"),
    ("x = 1\n", "no docstring"),
])
def test_docstring_checker(source, problem):
    found = docstring_problem("backend.fake", ast.parse(source))
    assert (found is None) if problem is None else (problem in found)


def test_missing_target_checker():
    trees = {"backend.core.db": ast.parse("def get_db(): pass\ntry:\n    X = 1\nexcept Exception:\n    pass\n")}
    known = {"backend.core", "backend.core.db", "backend.chain.fake"}
    src = ast.parse("from ..core.db import get_db, X\nfrom ..core.db import nothing\nfrom .db import checkpoint\n")
    missing = missing_targets("backend.chain.fake", False, src, trees, known)
    assert missing == ["backend.chain.fake line 2: backend.core.db has no nothing",
                       "backend.chain.fake line 3: no module backend.chain.db"]
