"""The package map holds: imports follow the data flow, no import cycles (function-level imports
included), no benchmark inside a library package, and long modules / functions say why they are long.

Data flows files → chem → data → model → losses → train → decode → evaluate → experiments →
bench / commands (docs/ARCHITECTURE.md). A module may import its own package and the packages
before it; ``bench`` and ``commands`` sit together at the top (commands may run benchmarks, a
benchmark never imports a command). Top-level modules other than ``cli`` (``errors``,
``numerics``, …) are the base every package may use; they import no package.

m/z ⇄ mass conversions go through the mass kernel (``renovo.chem.mass``): no module outside
``renovo/chem`` does arithmetic with ``PROTON_MASS_DA`` itself.

``getattr(obj, "name", default)`` is for foreign objects only (exceptions, third-party values,
Lightning's objects; ``GETATTR_ALLOWED``): renovo's own classes, plans and parsers declare their
attributes, so code reads ``obj.name``. A function or module named ``migrate`` (old configs and
checkpoints, whose keys may be missing) is exempt.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "renovo"
ORDER = ("chem", "data", "model", "losses", "train", "decode", "evaluate", "experiments", "bench", "commands")
LIBRARY = ORDER[:8]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every `renovo` import in ``path``, at any nesting depth;
    ``importlib.import_module("renovo.…")`` with a constant name counts too."""
    modules = {module_name(p, root) for p in root.rglob("*.py")}
    package = root.name
    me = module_name(path, root)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from pkg import submodule` imports the submodule; `from mod import name` the module.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        found += [(node.lineno, n) for n in names if n == package or n.startswith(package + ".")]
    return found


def layer(module: str) -> str | None:
    """The package of ``renovo.<package>.…``; None for a top-level module (base or cli)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ORDER) else None


def direction_violations(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        me = module_name(path, root)
        mine = layer(me)
        top_level = mine is None and me != root.name
        for line, target in imports(path, root):
            theirs = layer(target)
            where = f"{path.relative_to(root.parent)}:{line} imports {target}"
            if top_level and me.split(".")[-1] != "cli":
                if theirs is not None:
                    out.append(f"{where}: a base module imports no package")
            elif mine is not None and theirs is not None and theirs != mine:
                if theirs not in ORDER:
                    out.append(f"{where}: unknown package {theirs}")
                elif mine == "bench" and theirs == "commands":
                    out.append(f"{where}: a benchmark never imports a command")
                elif ORDER.index(theirs) > ORDER.index(mine) and {mine, theirs} != {"bench", "commands"}:
                    out.append(f"{where}: against the data flow ({mine} comes before {theirs})")
            elif mine is not None and theirs is None and target.split(".")[-1] == "cli":
                out.append(f"{where}: only the CLI entry point imports cli")
    return out


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    edges: dict[str, set[str]] = defaultdict(set)
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    for name, path in modules.items():
        edges[name] |= {t for _, t in imports(path, root) if t in modules and t != name}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return cycles


def unexplained_lengths(root: Path) -> list[str]:
    """Modules over MAX_MODULE_LINES without a ``# long module:`` comment; functions over
    MAX_FUNCTION_LINES without a ``# long function:`` comment just above them."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        if len(lines) > MAX_MODULE_LINES and "# long module:" not in text:
            out.append(f"{path.relative_to(root.parent)}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                above = lines[max(0, first - 4): first - 1]
                if length > MAX_FUNCTION_LINES and not any("# long function:" in line for line in above):
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}: {length} lines")
    return out


#: Modules outside renovo/chem that may use PROTON_MASS_DA, and why (none today: every m/z ⇄ mass
#: conversion, fragment or precursor, is `mz_from_mass` / `mass_from_mz`).
PROTON_ALLOWED: dict[str, str] = {}


def inline_proton_uses(root: Path) -> list[str]:
    """``path:line`` of every use of ``PROTON_MASS_DA`` (the name or ``….PROTON_MASS_DA``) as a value
    outside ``renovo/chem`` and ``PROTON_ALLOWED``: an m/z ⇄ mass conversion written inline instead of
    through the mass kernel. Importing the name is not a use."""
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if relative.parts[1] == "chem" or module_name(path, root) in PROTON_ALLOWED:
            continue
        lines = sorted({node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path)))
                        if (node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)) == "PROTON_MASS_DA"})
        out += [f"{relative}:{line}" for line in lines]
    return out


#: Names that hold a run config (or a checkpoint's): loaded configs are checked and normalised once
#: (`renovo.train.config.load_config`: a number is a float, a count an int), so nothing casts their values.
CONFIG_NAMES = {"config", "run_config", "config_dict", "optim_config", "loss_config"}
#: Functions whose config comes from outside a loaded config (argparse values, a plan's own file).
CAST_ALLOWED: dict[str, str] = {}


def _config_rooted(node, aliases: set[str]) -> bool:
    """``config["a"]["b"]``, ``config.a.b``, ``self.config["a"]``, or ``t["b"]`` / ``t.b`` with
    ``t = config["a"]``."""
    if not isinstance(node, (ast.Subscript, ast.Attribute)):
        return False
    while isinstance(node, ast.Subscript) or (isinstance(node, ast.Attribute) and node.attr not in CONFIG_NAMES):
        node = node.value
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return name in CONFIG_NAMES or name in aliases


def _config_value(node, aliases: set[str]) -> bool:
    """A loaded config or a section of it: a config name, an alias of a section, or a config-rooted expression."""
    if isinstance(node, ast.Name):
        return node.id in CONFIG_NAMES or node.id in aliases
    return _config_rooted(node, aliases)


def _section_aliases(function) -> set[str]:
    return {t.id for n in ast.walk(function) if isinstance(n, ast.Assign) and _config_rooted(n.value, set())
            for t in n.targets if isinstance(t, ast.Name)}


def config_casts(root: Path) -> list[str]:
    """``path:line`` of every ``int(…)`` / ``float(…)`` / ``bool(…)`` of a config value at its point of use."""
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if f"{module_name(path, root)}.{function.name}" in CAST_ALLOWED:
                continue
            aliases = _section_aliases(function)
            out += [f"{relative}:{n.lineno}" for n in ast.walk(function)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("int", "float", "bool")
                    and len(n.args) == 1 and _config_rooted(n.args[0], aliases)]
    return sorted(set(out))


#: Modules that may read a config key with a default, and why: what they read is not a loaded config.
GET_DEFAULT_ALLOWED: dict[str, str] = {
    "renovo/model/migrate.py": "upgrades older checkpoints, whose configs lack the keys added since",
    "renovo/experiments/metrics_io.py": "run folders' config.yaml as written, by older renovo versions too "
                                        "(reports keep what those runs recorded)",
}


def config_get_defaults(root: Path) -> list[str]:
    """``path:line`` of every ``config.get(key, default)`` (or on a section of it): a default written at its
    point of use, which could shadow the schema's."""
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if str(relative) in GET_DEFAULT_ALLOWED:
            continue
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            aliases = _section_aliases(function)
            out += [f"{relative}:{n.lineno}" for n in ast.walk(function)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                    and len(n.args) == 2 and _config_value(n.func.value, aliases)]
    return sorted(set(out))


#: Three-argument ``getattr`` calls allowed in renovo/, as "module path:attribute name" -> the foreign
#: object it reads. Anything else on renovo's own objects declares the attribute instead.
GETATTR_ALLOWED: dict[str, str] = {
    "renovo/errors.py:problem_mark": "a yaml error (MarkedYAMLError has it, YAMLError not)",
    "renovo/errors.py:context_mark": "a yaml error (MarkedYAMLError has it, YAMLError not)",
    "renovo/errors.py:problem": "a yaml error (MarkedYAMLError has it, YAMLError not)",
    "renovo/errors.py:context": "a yaml error (MarkedYAMLError has it, YAMLError not)",
    "renovo/train/config.py:problem": "a yaml error (MarkedYAMLError has it, YAMLError not)",
    "renovo/data/mzml.py:lineno": "an lxml / pyteomics parse error (only XMLSyntaxError has a line)",
    "renovo/data/mzml.py:unit_info": "a pyteomics value (unitfloat / unitstr carry a unit, plain numbers not)",
    "renovo/bench/streaming.py:pss": "psutil's memory_full_info() (PSS on Linux only)",
    "renovo/commands/runlog.py:encoding": "the wrapped text stream (sys.stdout or a replacement)",
    "renovo/commands/runlog.py:__version__": "a third-party module already imported (not all have one)",
    "renovo/train/monitors.py:last_model_path": "Lightning's checkpoint callbacks (ModelCheckpoint has it)",
}


def getattr_with_default_on_own_objects(root: Path, allowed: dict[str, str] | None = None) -> list[str]:
    """``path:line getattr(obj, 'name', default)`` of every three-argument ``getattr`` under ``root``
    whose "module path:attribute name" is not in ``allowed`` (default ``GETATTR_ALLOWED``); a module or
    function named ``migrate`` may use it (a non-constant name is "?", allowed only as such)."""
    allowed = GETATTR_ALLOWED if allowed is None else allowed
    out = []

    def visit(node: ast.AST, path: Path, in_migrate: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "migrate":
            in_migrate = True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) == 3 and not in_migrate):
            name = node.args[1]
            attribute = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else "?"
            relative = path.relative_to(root.parent).as_posix()
            if f"{relative}:{attribute}" not in allowed:
                out.append(f"{relative}:{node.lineno} {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, path, in_migrate)

    for path in sorted(root.rglob("*.py")):
        visit(ast.parse(path.read_text(), str(path)), path, path.stem == "migrate")
    return out


def benchmarks_in_libraries(root: Path) -> list[str]:
    return [str(p.relative_to(root.parent)) for package in LIBRARY for p in (root / package).rglob("bench.py")]


# --------------------------------------------------------------------------- the repository


def test_imports_follow_the_data_flow():
    assert direction_violations(ROOT) == []


def test_no_import_cycles_even_inside_functions():
    assert import_cycles(ROOT) == []


def test_mz_and_mass_convert_only_through_the_mass_kernel():
    assert inline_proton_uses(ROOT) == []


def test_no_config_value_is_cast_at_its_point_of_use():
    assert config_casts(ROOT) == []


def test_no_config_key_is_read_with_a_default_of_its_own():
    assert config_get_defaults(ROOT) == []


def test_no_benchmark_inside_a_library_package():
    assert benchmarks_in_libraries(ROOT) == []
    assert (ROOT / "bench" / "__init__.py").is_file()


def test_long_modules_and_functions_say_why():
    assert unexplained_lengths(ROOT) == []


def test_no_getattr_with_a_default_on_renovos_own_objects():
    assert getattr_with_default_on_own_objects(ROOT) == []
    found = getattr_with_default_on_own_objects(ROOT, {})  # every three-argument getattr
    stale = [key for key in GETATTR_ALLOWED
             if not any(f.startswith(key.split(":")[0] + ":") and f", '{key.split(':')[1]}', " in f for f in found)]
    assert stale == [], "allowlisted calls that are gone: remove them from GETATTR_ALLOWED"


# --------------------------------------------------------------------------- the checks themselves


@pytest.fixture
def fake_tree(tmp_path) -> Path:
    """A small package shaped like renovo, with one of each violation."""
    root = tmp_path / "renovo"
    for package in ("chem", "data", "train", "bench", "commands"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "errors.py").write_text("from renovo.data import thing\n")  # base imports a package
    (root / "chem" / "a.py").write_text("def f():\n    from renovo.train import x\n")  # against the flow, in a function
    (root / "data" / "b.py").write_text("from renovo.data.c import y\n")
    (root / "data" / "c.py").write_text("def g():\n    import renovo.data.b\n")  # cycle b ↔ c
    (root / "data" / "bench.py").write_text("")
    (root / "bench" / "d.py").write_text("import importlib\nimportlib.import_module('renovo.commands.e')\n")
    (root / "commands" / "e.py").write_text("from renovo.bench import d\n")  # allowed
    (root / "chem" / "mass.py").write_text("PROTON_MASS_DA = 1.0\ndef mz(m, z):\n    return (m + z * PROTON_MASS_DA) / z\n")
    (root / "data" / "m.py").write_text("from renovo.chem import PROTON_MASS_DA\nimport renovo.chem as c\n"
                                        "mz = 1.0 + PROTON_MASS_DA\nmass = (mz - c.PROTON_MASS_DA) * 2\n")
    (root / "train" / "cast.py").write_text("def f(config, self):\n    t = config['trainer']\n    a = int(t['max_steps'])\n"
                                            "    b = float(self.config['optim']['lr'])\n    c = int(other['x'])\n"
                                            "    d = int(config.data.max_peaks)\n    e = config.get('seed', 0)\n"
                                            "    g = t.get('val_every_n_steps', 500)\n    h = other.get('x', 1)\n")
    body = "\n".join(f"    x = {i}" for i in range(90))
    (root / "train" / "long.py").write_text(f"def long():\n{body}\n\n\n# long function: a table\ndef ok():\n{body}\n")
    return root


def test_checks_catch_each_violation(fake_tree):
    direction = direction_violations(fake_tree)
    assert any("errors.py" in v and "base module" in v for v in direction)
    assert any("chem/a.py:2" in v and "against the data flow" in v for v in direction)
    assert any("bench/d.py" in v and "never imports a command" in v for v in direction)
    assert not any("commands/e.py" in v for v in direction)
    assert sorted(import_cycles(fake_tree)) == [["renovo.bench.d", "renovo.commands.e"], ["renovo.data.b", "renovo.data.c"]]
    assert benchmarks_in_libraries(fake_tree) == ["renovo/data/bench.py"]
    assert inline_proton_uses(fake_tree) == ["renovo/data/m.py:3", "renovo/data/m.py:4"]
    assert config_casts(fake_tree) == ["renovo/train/cast.py:3", "renovo/train/cast.py:4", "renovo/train/cast.py:6"]
    assert config_get_defaults(fake_tree) == ["renovo/train/cast.py:7", "renovo/train/cast.py:8"]
    lengths = unexplained_lengths(fake_tree)
    assert len(lengths) == 1 and "long.py:1 long" in lengths[0]


def test_getattr_check_flags_own_objects_and_accepts_the_allowlist(tmp_path):
    root = tmp_path / "renovo"
    (root / "experiments").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "experiments" / "report.py").write_text(
        "def f(plan, error):\n"
        "    notes = getattr(plan, 'notes', '')\n"  # an own object: flagged
        "    line = getattr(error, 'lineno', None)\n"  # allowlisted below
        "    return getattr(plan, 'notes')\n"  # no default: fine
        "def migrate(old):\n"
        "    return getattr(old, 'notes', '')\n")  # a migration reads old objects
    (root / "config" / "migrate.py").write_text("def up(old):\n    return getattr(old, 'notes', '')\n")
    allowed = {"renovo/experiments/report.py:lineno": "a parse error"}
    assert getattr_with_default_on_own_objects(root, allowed) == [
        "renovo/experiments/report.py:2 getattr(plan, 'notes', '')"]
    assert len(getattr_with_default_on_own_objects(root, {})) == 2
