"""Docstrings and comments in abcodec/ name only what exists, so that a rename or a move cannot leave
a reference behind: a module's attribute (``container.MAGIC``, ``abcodec.options.EncodeOptions``),
a Sphinx role's target (:func:`name`, :class:`name`, ...) and a file (``generative/settings.py``,
``format_spec/abc.md``). A failure names the file, the line and the reference.

What counts as a reference is kept narrow, so that nothing else can fail: ``first.second`` where
``first`` is a module of the package by its last name (or ``abcodec``), is not a file name
(``container.py``), not a pattern (``console.EXIT_*``), and is not a parameter or variable of the
code around it (``options.metadata`` in a function whose parameter is ``options``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import io
import pkgutil
import re
import tokenize
from pathlib import Path

import pytest

import abcodec

PACKAGE = Path(abcodec.__file__).resolve().parent
REPOSITORY = PACKAGE.parent

MODULES = sorted(info.name for info in pkgutil.walk_packages(abcodec.__path__, "abcodec."))
"""Every module of the package, by its dotted name."""

SHORT_NAMES: dict[str, list[str]] = {}
"""A module as docstrings name it (``container``, ``onnx_generator``) -> the modules of that name."""
for _module in MODULES:
    SHORT_NAMES.setdefault(_module.rsplit(".", 1)[1], []).append(_module)

DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)(?![\w*/-])")
"""``first.second...``, whole: not part of a longer name or path (``abcodec/container.py``), nor a
pattern (``console.EXIT_*``)."""

ROLE = re.compile(r":(?:func|meth|class|data|attr|exc|mod|obj):`~?([\w.]+)`")
"""A Sphinx cross-reference's target, its ``~`` (show the last part only) dropped."""

FILE = re.compile(r"(?<![\w./-])((?:\w+/)*\w+\.(?:py|md))\b")
"""A file named by its path (``generative/settings.py``, ``format_spec/abc.md``)."""


@dataclasses.dataclass(frozen=True)
class Text:
    """A docstring or a comment, where it starts, and what surrounds it."""

    path: Path
    line: int
    text: str
    module: str
    classes: tuple[str, ...]  # the enclosing classes, outermost first
    local: frozenset[str]     # names that are not modules there: parameters, variables, fields

    def line_of(self, match: re.Match) -> int:
        return self.line + self.text.count("\n", 0, match.start())


def module_of(path: Path) -> str:
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def assigned_names(node: ast.AST) -> frozenset[str]:
    """The parameters of a function and every name assigned in it (or in a class, or a module's own
    statements), which shadow a module of the same name there."""
    names = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = node.args
        names.update(a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                     arguments.vararg, arguments.kwarg) if a is not None)
    for child in ast.walk(node) if not isinstance(node, ast.Module) else node.body:
        targets = [child] if isinstance(child, ast.Name) else getattr(child, "targets", [getattr(child, "target", None)])
        names.update(target.id for target in targets if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store))
    return frozenset(names)


def docstring_after(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
        return statement.value.value
    return None


def texts_of(path: Path) -> list[Text]:
    """Every docstring (of the module, its classes and functions, and of its constants) and comment."""
    source = path.read_text()
    tree = ast.parse(source)
    module = module_of(path)
    found: list[Text] = []
    scopes: list[tuple[int, int, tuple[str, ...], frozenset[str]]] = []

    def visit(body: list[ast.stmt], classes: tuple[str, ...], local: frozenset[str]) -> None:
        for index, statement in enumerate(body):
            follows_assignment = index and isinstance(body[index - 1], (ast.Assign, ast.AnnAssign))
            text = docstring_after(statement)
            if text is not None and (index == 0 or follows_assignment):
                found.append(Text(path, statement.lineno, text, module, classes, local))
            if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = (*classes, statement.name) if isinstance(statement, ast.ClassDef) else classes
                names = local | assigned_names(statement)
                scopes.append((statement.lineno, statement.end_lineno, inner, names))
                visit(statement.body, inner, names)

    visit(tree.body, (), assigned_names(tree))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            line = token.start[0]
            inner = [scope for scope in scopes if scope[0] <= line <= scope[1]]
            classes, local = (inner[-1][2], inner[-1][3]) if inner else ((), assigned_names(tree))
            found.append(Text(path, line, token.string, module, classes, local))
    return found


TEXTS = [text for path in sorted(PACKAGE.rglob("*.py")) for text in texts_of(path)]


def has(owner: object, name: str) -> bool:
    """An attribute, or a field a dataclass or an annotated class declares without a default."""
    if hasattr(owner, name):
        return True
    return inspect.isclass(owner) and any(name in getattr(base, "__annotations__", {}) for base in owner.__mro__)


def names_something(dotted: str, owner: object) -> bool:
    """Whether ``dotted`` is reached from ``owner`` attribute by attribute, as far as the attributes
    are modules or classes (what an instance holds is its own business)."""
    for part in dotted.split("."):
        if not (inspect.ismodule(owner) or inspect.isclass(owner)):
            return True
        if not has(owner, part):
            return False
        owner = getattr(owner, part, None)
    return True


def in_package(dotted: str) -> bool:
    """Whether ``abcodec.x.y.z`` names something: its longest module prefix, then attributes."""
    parts = dotted.split(".")
    for count in range(len(parts), 0, -1):
        name = ".".join(parts[:count])
        if name == "abcodec" or name in MODULES:
            return names_something(".".join(parts[count:]), importlib.import_module(name)) if count < len(parts) else True
    return False


def in_modules_named(short: str, rest: str) -> bool:
    return any(names_something(rest, importlib.import_module(module)) for module in SHORT_NAMES[short])


def module_references(text: Text) -> list[tuple[int, str]]:
    """``module.name`` references to the package that name nothing."""
    missing = []
    for match in DOTTED.finditer(text.text):
        first, rest = match.group(1), match.group(2)[1:]
        if first in text.local or rest.split(".")[0] in ("py", "md"):
            continue
        if first == "abcodec":
            ok = in_package(match.group(0))
        elif first in SHORT_NAMES:
            ok = in_modules_named(first, rest)
        else:
            continue
        if not ok:
            missing.append((text.line_of(match), match.group(0)))
    return missing


def role_references(text: Text) -> list[tuple[int, str]]:
    """Roles whose target is in none of: the enclosing classes, the module, the package, another library."""
    module = importlib.import_module(text.module)
    owners, owner = [module], module
    for name in text.classes:  # a class made inside a function is not reachable: its module stands in
        owner = getattr(owner, name, None)
        if owner is None:
            break
        owners.insert(0, owner)
    missing = []
    for match in ROLE.finditer(text.text):
        target = match.group(1)
        first, _, rest = target.partition(".")
        if any(names_something(target, owner) for owner in owners):
            continue
        if first == "abcodec":
            ok = in_package(target)
        elif first in SHORT_NAMES and rest:
            ok = in_modules_named(first, rest)
        else:  # another library's (PIL.Image.Exif), else nothing
            ok = importlib.util.find_spec(first) is not None and first not in vars(module)
        if not ok:
            missing.append((text.line_of(match), match.group(0)))
    return missing


def file_references(text: Text) -> list[tuple[int, str]]:
    """Files named by a path found neither beside the text's module, in the package, nor in the repository."""
    return [(text.line_of(match), match.group(1)) for match in FILE.finditer(text.text)
            if not any((folder / match.group(1)).exists() for folder in (text.path.parent, PACKAGE, REPOSITORY))]


CHECKS = (module_references, role_references, file_references)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_docstrings_and_comments_name_what_exists(check):
    stale = [f"{text.path.relative_to(REPOSITORY)}:{line}: {reference}"
             for text in TEXTS for line, reference in check(text)]
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize(("check", "reference"), [
    (module_references, "``container.NO_SUCH_NAME``"),
    (module_references, "abcodec.codec.no_such_function"),
    (module_references, "onnx_generator.ONNX_HASH_KEY.missing"),  # a str's attributes are its own: fine
    (role_references, ":func:`no_such_function`"),
    (role_references, ":class:`~abcodec.options.NoSuchOptions`"),
    (file_references, "generative/no_such_module.py"),
])
def test_a_reference_to_nothing_is_found(check, reference):
    """Each check finds what it is for, and only that: the third reference reaches a string, whose
    attributes are not checked."""
    text = Text(PACKAGE / "codec.py", 1, f"see {reference}.", "abcodec.codec", (), frozenset())
    expected = [] if reference.endswith(".missing") else [(1, reference.strip("`")
                                                              if check is not role_references else reference)]
    assert check(text) == expected


def test_the_scan_reads_the_whole_package():
    """Every module is read, and each kind of reference occurs, so the checks above look at something."""
    assert {text.module for text in TEXTS} >= {"abcodec.container", "abcodec.generative.descent", "abcodec"}
    counts = [sum(len(pattern.findall(text.text)) for text in TEXTS) for pattern in (DOTTED, ROLE, FILE)]
    assert min(counts) >= 20, counts
