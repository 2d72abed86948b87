"""The package's shape, checked from its source with ``ast`` (nothing is imported): no import cycle
among the modules of src/genprior, and no call of an operator's private ``_forward`` / ``_adjoint``
outside ``operators/`` (everyone else uses the public ``apply`` / ``apply_adjoint``)."""
import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "genprior"


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is its __init__.py)."""
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = ("genprior",) + f.relative_to(PKG).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports, at module level or inside functions. ``from p import
    n`` points at the submodule p.n when there is one, else at p; importing a submodule is not counted
    as importing its parent package's __init__ (which Python runs first, but every module would then
    sit on a cycle through its package)."""
    graph = {m: set() for m in modules}
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node.level, node.module)
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in modules else base)
            for t in targets:
                while t and t not in modules and t.startswith("genprior"):
                    t = t.rpartition(".")[0]      # `import genprior.x.y as z` with y not a module
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle
    through its members, e.g. ['a', 'b', 'a']."""
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_through(comp[0], graph, set(comp)) for comp in comps]


def _cycle_through(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside one strongly connected component (breadth first)."""
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return path[::-1] + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is on no cycle")


def private_operator_calls(modules: dict[str, Path]) -> list[str]:
    """``file:line`` of every ``x._forward(...)`` / ``x._adjoint(...)`` outside src/genprior/operators/."""
    hits = []
    for path in modules.values():
        if "operators" in path.relative_to(PKG).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("_forward", "_adjoint")):
                hits.append(f"{path.relative_to(PKG.parent)}:{node.lineno} .{node.func.attr}(")
    return sorted(hits, key=lambda h: (h.split(":")[0], int(h.split(":")[1].split()[0])))


def test_the_checkers_find_what_they_should():
    """The graph and cycle finder on a hand-made case, so a green run below means something."""
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}, "g": set()}
    found = cycles(g)
    assert sorted(map(tuple, found)) == [("a", "b", "c", "a"), ("e", "f", "e")]
    two = cycles({"a": {"b", "c"}, "b": {"d"}, "c": {"a"}, "d": {"b"}})     # a -> b, but b never comes back
    assert sorted(map(tuple, two)) == [("a", "c", "a"), ("b", "d", "b")]
    assert _resolve("genprior.priors.classical", False, 1, "registry") == "genprior.priors.registry"
    assert _resolve("genprior.solvers", True, 2, "tasks") == "genprior.tasks"
    assert _resolve("genprior.solvers.map.tv", False, 3, None) == "genprior"
    mods = _modules()
    graph = import_graph(mods)
    assert "genprior.solvers" in graph["genprior"] and "genprior.tasks" in graph["genprior"]
    assert len(mods) > 30


def test_no_import_cycle():
    found = cycles(import_graph(_modules()))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_private_operator_call_outside_operators():
    hits = private_operator_calls(_modules())
    assert not hits, f"{len(hits)} private operator calls (use apply / apply_adjoint):\n" + "\n".join(hits)


def test_import_stays_light():
    code = ("import sys, genprior; heavy = [m for m in ('matplotlib', 'diffusers', 'skimage', 'sklearn', 'bm3d') "
            "if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
