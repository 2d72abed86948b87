"""Benchmark suites: a TOML file naming tasks, methods (with priors), images and seeds.

A suite is the cross product task x method x prior x image x seed; each element is one *cell*
(see ``runner.py``). Schema (unknown keys raise, naming the key and the table)::

    [suite]
    name = "quick"
    seeds = [0]                 # measurement noise and solver generator seeds
    num_samples = 1             # passed to methods that take it (samplers); > 1 gives std maps, coverage
    imports = ["my_module"]     # imported before running, so their @register(...) methods exist
    dtype = "float32"           # or "float64"

    [images]                    # one image set; or [[images]] with a `name` each
    dataset = "images"          # "images" (names = [...]), "phantoms" (count, seed), "fashion_mnist"
    names = ["camera"]          #   (split, indices | count) -- or `folder = "path"` (count)
    size = 32

    [[tasks]]
    name = "deblur_gauss"       # a gp.tasks name; or problem = "gmm" with options {d_x, d_y, directions}
    options = { std = 2.0 }
    sigma_y = 0.01
    image_shape = [1, 32, 32]   # optional; checked against the image sets the task runs on
    label = "deblur"            # optional name in the report

    [[methods]]
    name = "pnp_hqs"            # a registered method name (gp.solvers.names())
    options = { max_iter = 8 }
    prior = "nlm"               # optional: a name or a list of names for gp.priors.load
    tasks = ["denoise"]         # optional: only these task names / labels
    images = ["fashion"]        # optional: only these image sets
    per_task = { ct = { lam = 0.1 } }   # optional: options merged over `options` for one task
    grid = { zeta = [0.01, 0.1] }       # optional: one method per combination (cartesian product),
                                        #   labelled "dps[zeta=0.01]", "dps[zeta=0.1]"
"""
from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent / "suites"

_SUITE_KEYS = {"name", "seeds", "num_samples", "imports", "dtype", "description"}
_TASK_KEYS = {"name", "options", "sigma_y", "image_shape", "label", "problem"}
_METHOD_KEYS = {"name", "options", "prior", "tasks", "images", "per_task", "label", "grid"}
_IMAGE_KEYS = {"name", "dataset", "names", "indices", "count", "size", "seed", "split", "folder"}
_DATASETS = ("images", "phantoms", "fashion_mnist")
_PROBLEMS = ("image", "gmm")


class SuiteError(ValueError):
    """A suite file that does not follow the schema (the message names the file and the key)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    label: str
    options: dict = field(default_factory=dict)
    sigma_y: float = 0.01
    image_shape: tuple | None = None
    problem: str = "image"


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    options: dict = field(default_factory=dict)
    priors: tuple = (None,)
    tasks: tuple | None = None
    images: tuple | None = None
    per_task: dict = field(default_factory=dict)

    def applies_to(self, task: TaskSpec, image_set: str | None) -> bool:
        if self.tasks is not None and task.name not in self.tasks and task.label not in self.tasks:
            return False
        return self.images is None or image_set is None or image_set in self.images

    def options_for(self, task: TaskSpec) -> dict:
        out = dict(self.options)
        out.update(self.per_task.get(task.label, self.per_task.get(task.name, {})))
        return out


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dataset: str | None = None
    names: tuple | None = None
    indices: tuple | None = None
    count: int | None = None
    size: int | None = None
    seed: int = 10_000
    split: str = "test"
    folder: str | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    tasks: tuple
    methods: tuple
    images: tuple
    seeds: tuple = (0,)
    num_samples: int = 1
    imports: tuple = ()
    dtype: str = "float32"
    description: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self), default=list))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SUITE_DIR.glob("*.toml"))


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as e:
            raise ImportError("reading suite files on Python 3.10 needs `pip install tomli`") from e
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{path}: not valid TOML: {e}") from e


def resolve_path(name_or_path) -> Path:
    """A built-in suite name (``quick``) or the path of a suite file."""
    p = Path(str(name_or_path))
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise FileNotFoundError(f"suite file {p} does not exist")
        return p
    q = SUITE_DIR / f"{name_or_path}.toml"
    if not q.is_file():
        raise SuiteError(f"unknown suite {str(name_or_path)!r}: neither a file nor a built-in suite "
                         f"({', '.join(builtin_names())})")
    return q


def load(name_or_path, *, check_names: bool = True) -> Suite:
    """Read and validate a suite; ``check_names`` also checks task, method and prior names against the
    registries (after running the suite's ``imports``)."""
    path = resolve_path(name_or_path)
    return parse(_read_toml(path), source=str(path), check_names=check_names)


def _unknown(where: str, d: dict, allowed: set, src: str):
    extra = sorted(set(d) - allowed)
    if extra:
        raise SuiteError(f"{src}: unknown key(s) {extra} in {where}; allowed: {sorted(allowed)}")


def _typed(value, types, what: str, src: str):
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise SuiteError(f"{src}: {what} must be {' or '.join(t.__name__ for t in types)}, got {value!r}")
    return value


def _str_tuple(v, what, src):
    if isinstance(v, str):
        return (v,)
    _typed(v, list, what, src)
    for s in v:
        _typed(s, str, f"each entry of {what}", src)
    return tuple(v)


def parse(doc: dict, *, source: str = "<suite>", check_names: bool = True) -> Suite:
    src = source
    _unknown("the top level", doc, {"suite", "tasks", "methods", "images"}, src)
    head = doc.get("suite", {})
    _typed(head, dict, "[suite]", src)
    _unknown("[suite]", head, _SUITE_KEYS, src)
    name = _typed(head.get("name", Path(source).stem), str, "suite.name", src)
    seeds = head.get("seeds", [0])
    _typed(seeds, list, "suite.seeds", src)
    if not seeds:
        raise SuiteError(f"{src}: suite.seeds is empty")
    for s in seeds:
        _typed(s, int, "each suite seed", src)
    num_samples = _typed(head.get("num_samples", 1), int, "suite.num_samples", src)
    if num_samples < 1:
        raise SuiteError(f"{src}: suite.num_samples must be >= 1, got {num_samples}")
    imports = _str_tuple(head.get("imports", []), "suite.imports", src)
    dtype = head.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise SuiteError(f"{src}: suite.dtype must be 'float32' or 'float64', got {dtype!r}")

    raw_images = doc.get("images", [])
    if isinstance(raw_images, dict):
        raw_images = [raw_images]
    _typed(raw_images, list, "[images]", src)
    images = []
    for i, im in enumerate(raw_images):
        where = f"images[{i}]"
        _typed(im, dict, where, src)
        _unknown(where, im, _IMAGE_KEYS, src)
        if ("dataset" in im) == ("folder" in im):
            raise SuiteError(f"{src}: {where} needs exactly one of `dataset` ({', '.join(_DATASETS)}) or `folder`")
        ds = im.get("dataset")
        if ds is not None and ds not in _DATASETS:
            raise SuiteError(f"{src}: {where}.dataset {ds!r} unknown; known: {', '.join(_DATASETS)}")
        if ds == "images" and "names" not in im:
            raise SuiteError(f"{src}: {where} (dataset 'images') needs `names` (see gp.data.image_names())")
        if ds in ("phantoms",) and "count" not in im:
            raise SuiteError(f"{src}: {where} (dataset 'phantoms') needs `count`")
        if ds == "fashion_mnist" and "count" not in im and "indices" not in im:
            raise SuiteError(f"{src}: {where} (dataset 'fashion_mnist') needs `indices` or `count`")
        if "indices" in im:
            _typed(im["indices"], list, f"{where}.indices", src)
        for k in ("count", "size", "seed"):
            if k in im:
                _typed(im[k], int, f"{where}.{k}", src)
        images.append(ImageSpec(name=im.get("name", ds or "folder"), dataset=ds,
                                names=_str_tuple(im["names"], f"{where}.names", src) if "names" in im else None,
                                indices=tuple(im["indices"]) if "indices" in im else None, count=im.get("count"),
                                size=im.get("size"), seed=im.get("seed", 10_000), split=im.get("split", "test"),
                                folder=im.get("folder")))
    set_names = [im.name for im in images]
    if len(set(set_names)) != len(set_names):
        raise SuiteError(f"{src}: image sets need distinct `name`s, got {set_names}")

    raw_tasks = doc.get("tasks", [])
    _typed(raw_tasks, list, "[[tasks]]", src)
    if not raw_tasks:
        raise SuiteError(f"{src}: no [[tasks]]")
    tasks = []
    names_seen = [t.get("name") for t in raw_tasks if isinstance(t, dict)]
    for i, t in enumerate(raw_tasks):
        where = f"tasks[{i}]"
        _typed(t, dict, where, src)
        _unknown(where, t, _TASK_KEYS, src)
        if "name" not in t:
            raise SuiteError(f"{src}: {where} needs a `name`")
        tname = _typed(t["name"], str, f"{where}.name", src)
        problem = t.get("problem", "image")
        if problem not in _PROBLEMS:
            raise SuiteError(f"{src}: {where}.problem {problem!r} unknown; known: {', '.join(_PROBLEMS)}")
        opts = _typed(t.get("options", {}), dict, f"{where}.options", src)
        sigma_y = float(_typed(t.get("sigma_y", 0.01), (int, float), f"{where}.sigma_y", src))
        if sigma_y < 0:
            raise SuiteError(f"{src}: {where}.sigma_y must be >= 0, got {sigma_y}")
        shape = t.get("image_shape")
        if shape is not None:
            _typed(shape, list, f"{where}.image_shape", src)
            if len(shape) != 3:
                raise SuiteError(f"{src}: {where}.image_shape must be [C, H, W], got {shape}")
            shape = tuple(int(v) for v in shape)
        label = t.get("label")
        if label is None:
            label = tname
            if names_seen.count(tname) > 1:
                extra = ",".join(f"{k}={v}" for k, v in sorted(opts.items()))
                label = f"{tname}[σ={sigma_y:g}{',' + extra if extra else ''}]"
        tasks.append(TaskSpec(name=tname, label=_typed(label, str, f"{where}.label", src), options=dict(opts),
                              sigma_y=sigma_y, image_shape=shape, problem=problem))
    if check_names:
        _check_task_names(tasks, src)
    labels = [t.label for t in tasks]
    if len(set(labels)) != len(labels):
        raise SuiteError(f"{src}: two tasks share a label: {labels}; set distinct `label`s")
    if any(t.problem == "image" for t in tasks) and not images:
        raise SuiteError(f"{src}: image tasks need an [images] section")

    raw_methods = doc.get("methods", [])
    _typed(raw_methods, list, "[[methods]]", src)
    if not raw_methods:
        raise SuiteError(f"{src}: no [[methods]]")
    methods = []
    for i, m in enumerate(raw_methods):
        where = f"methods[{i}]"
        _typed(m, dict, where, src)
        _unknown(where, m, _METHOD_KEYS, src)
        if "name" not in m:
            raise SuiteError(f"{src}: {where} needs a `name`")
        mname = _typed(m["name"], str, f"{where}.name", src)
        priors = _str_tuple(m["prior"], f"{where}.prior", src) if "prior" in m else (None,)
        mtasks = _str_tuple(m["tasks"], f"{where}.tasks", src) if "tasks" in m else None
        if mtasks is not None:
            bad = [n for n in mtasks if n not in {t.name for t in tasks} | set(labels)]
            if bad:
                raise SuiteError(f"{src}: {where}.tasks names {bad}, which are not tasks of this suite "
                                 f"({', '.join(labels)})")
        mimages = _str_tuple(m["images"], f"{where}.images", src) if "images" in m else None
        if mimages is not None:
            bad = [n for n in mimages if n not in set_names]
            if bad:
                raise SuiteError(f"{src}: {where}.images names {bad}, not image sets of this suite ({set_names})")
        per_task = _typed(m.get("per_task", {}), dict, f"{where}.per_task", src)
        for k, v in per_task.items():
            if k not in {t.name for t in tasks} | set(labels):
                raise SuiteError(f"{src}: {where}.per_task names {k!r}, not a task of this suite")
            _typed(v, dict, f"{where}.per_task.{k}", src)
        label = _typed(m.get("label", mname), str, f"{where}.label", src)
        options = dict(_typed(m.get("options", {}), dict, f"{where}.options", src))
        for suffix, combo in _grid(m.get("grid"), options, per_task, where, src):
            methods.append(MethodSpec(name=mname, label=label + suffix, options={**options, **combo},
                                      priors=priors, tasks=mtasks, images=mimages, per_task=dict(per_task)))

    suite = Suite(name=name, tasks=tuple(tasks), methods=tuple(methods), images=tuple(images),
                  seeds=tuple(seeds), num_samples=num_samples, imports=imports, dtype=dtype,
                  description=str(head.get("description", "")), source=source)
    if check_names:
        check_registered(suite)
    return suite


def _grid_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else str(v)


def _grid(grid, options: dict, per_task: dict, where: str, src: str) -> list[tuple[str, dict]]:
    """A method's ``grid`` (option -> list of values) as (label suffix, options) per combination, in
    the cartesian product's order (the last option varies fastest); [("", {})] without a grid."""
    if grid is None:
        return [("", {})]
    _typed(grid, dict, f"{where}.grid", src)
    if not grid:
        raise SuiteError(f"{src}: {where}.grid is empty")
    for k, vals in grid.items():
        _typed(vals, list, f"{where}.grid.{k}", src)
        if not vals:
            raise SuiteError(f"{src}: {where}.grid.{k} is an empty list")
        if len(set(map(repr, vals))) != len(vals):
            raise SuiteError(f"{src}: {where}.grid.{k} repeats a value: {vals}")
        if k in options:
            raise SuiteError(f"{src}: {where} sets {k!r} in both `options` and `grid`")
        clash = [t for t, o in per_task.items() if k in o]
        if clash:
            raise SuiteError(f"{src}: {where} sets {k!r} in both `grid` and per_task ({clash})")
    keys = list(grid)
    out = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        suffix = "[" + ",".join(f"{k}={_grid_value(v)}" for k, v in zip(keys, combo)) + "]"
        out.append((suffix, dict(zip(keys, combo))))
    return out


def run_imports(suite: Suite) -> None:
    for mod in suite.imports:
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise SuiteError(f"{suite.source}: suite.imports names {mod!r}, which cannot be imported: {e}") from e


def _check_task_names(tasks, src: str) -> None:
    import genprior as gp
    known = set(gp.tasks.names())
    for t in tasks:
        if t.problem == "image" and t.name not in known:
            raise SuiteError(f"{src}: unknown task {t.name!r}; known: {', '.join(sorted(known))}")


def check_registered(suite: Suite) -> None:
    """Task, method and prior names exist (after the suite's imports), and method options are known."""
    import genprior as gp
    run_imports(suite)
    _check_task_names(suite.tasks, suite.source)
    methods = set(gp.solvers.names())
    priors = set(gp.priors.names())
    for m in suite.methods:
        if m.name not in methods:
            raise SuiteError(f"{suite.source}: unknown method {m.name!r}; known: {', '.join(sorted(methods))} "
                             "(a method of your own: add its module to suite.imports)")
        allowed = {f.name for f in dataclasses.fields(gp.solvers.method_info(m.name).options)}
        for t in suite.tasks:
            bad = sorted(set(m.options_for(t)) - allowed)
            if bad:
                raise SuiteError(f"{suite.source}: method {m.name!r} has no option(s) {bad}; allowed: "
                                 f"{sorted(allowed)}")
        for p in m.priors:
            if p is not None and p not in priors and p != "exact" and not Path(p).is_dir():
                raise SuiteError(f"{suite.source}: unknown prior {p!r} for method {m.name!r}; known: "
                                 f"{', '.join(sorted(priors))} (or a checkpoint folder)")
