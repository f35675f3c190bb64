#!/usr/bin/env python3
"""Who imports whom, module by module, in every crate of the workspace.

Reads each crate's sources (tests and `#[cfg(test)]` code left out), resolves
every `crate::`, `super::` and `self::` path it names (through `pub use`
re-exports, so an index file that re-exports its children adds no edge),
and prints, per crate, each top-level module with the modules it imports;
then, inside each top-level module, its files with the sibling files they
import. Exits 1 and names the modules when there is a circle at either
level, or when a module imports one that the crate's floors place above it
(FLOORS below).

    python3 scripts/imports.py            # the listing, then the verdict
    python3 scripts/imports.py --quiet    # the verdict only
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = {
    "keel": "crates/keel/src",
    "keel_forms": "crates/keel-forms/src",
    "keel_cli": "crates/keel-cli/src",
    "keel (the binary)": "crates/keel-cli/src/main.rs",
    "keel_testkit": "crates/keel-testkit/src",
}
# Each crate's floors, bottom first: a module may import its own floor and
# those below it, never one above. Modules not listed are checked for
# circles only.
FLOORS = {
    "keel": [
        ["http"],
        ["settings", "telemetry"],
        ["db", "cache", "storage"],
        ["security", "checks", "staticfiles"],
        ["core"],
        ["accounts", "outbox", "reports", "ops", "server", "app"],
        ["launch"],
        ["deploy", "backup"],
    ],
    "keel_forms": [
        ["error", "domain", "csv"],
        ["repo", "settings"],
        ["submissions", "notifications", "token", "export"],
        ["http"],
    ],
}

ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:const\s+)?"
    r"(?:struct|enum|fn|trait|type|const|static|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
MOD_DECL = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_0-9]+)\s*;", re.M)
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(text):
    """Comments, string literals and test code out."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    cut = re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod\s+\w+\s*\{", text)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod\s+\w+\s*;", "", text)
    return text


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (aliases dropped)."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [tree.split("as")[0] if "::" not in tree.split("as")[-1] and tree.count("as") else tree]
    head, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    out = []
    for part in parts:
        if part:
            out.extend(head + p for p in expand(part))
    return out


class Crate:
    def __init__(self, name, src):
        self.name = name
        self.files = {}  # module path tuple -> stripped text
        path = os.path.join(ROOT, src)
        if path.endswith(".rs"):
            self.load((), path)
        else:
            root = "lib.rs" if os.path.exists(os.path.join(path, "lib.rs")) else "main.rs"
            self.load((), os.path.join(path, root))

    def load(self, path, file):
        text = strip(open(file, encoding="utf-8").read())
        self.files[path] = text
        base = os.path.dirname(file) if os.path.basename(file) in ("lib.rs", "main.rs", "mod.rs") else file[:-3]
        for child in MOD_DECL.findall(text):
            for candidate in (os.path.join(base, child + ".rs"), os.path.join(base, child, "mod.rs")):
                if os.path.exists(candidate):
                    self.load(path + (child,), candidate)
                    break

    def reexports(self, module):
        """Names a module's `use` statements bring in: name -> absolute path."""
        out, globs = {}, []
        for _vis, tree in USE.findall(self.files.get(module, "")):
            for used in expand(tree):
                segs = used.split("::")
                absolute = self.absolute(module, segs)
                if absolute is None:
                    continue
                if segs[-1] == "*":
                    globs.append(absolute[:-1])
                else:
                    out[segs[-1]] = absolute
        return out, globs

    def absolute(self, module, segs):
        if segs[0] == "crate":
            return tuple(segs[1:])
        if segs[0] == "self":
            return module + tuple(segs[1:])
        if segs[0] == "super":
            here = list(module)
            while segs and segs[0] == "super":
                here.pop()
                segs = segs[1:]
            return tuple(here) + tuple(segs)
        if (module + (segs[0],)) in self.files:
            return module + tuple(segs)
        return None  # another crate or std

    def resolve(self, path, seen=None):
        """The module whose file defines what `path` names."""
        seen = seen or set()
        module = ()
        for i, seg in enumerate(path):
            if module + (seg,) in self.files:
                module = module + (seg,)
                continue
            if (module, seg) in seen:
                return module
            seen.add((module, seg))
            names, globs = self.reexports(module)
            if seg in names:
                return self.resolve(names[seg] + tuple(path[i + 1 :]), seen)
            for g in globs:
                if g in self.files and seg in ITEM.findall(self.files[g]):
                    return self.resolve(g + (seg,), seen)
            return module
        return module

    def edges(self):
        out = set()
        for module, text in self.files.items():
            # A `pub use` re-exports (an index entry), it is not a use.
            paths = [u.split("::") for vis, tree in USE.findall(text) if not vis for u in expand(tree)]
            paths += [p.split("::") for p in INLINE.findall(text)]
            for segs in paths:
                absolute = self.absolute(module, segs)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target != module:
                    out.add((module, target))
        return out


def cycles(nodes, edges):
    """Strongly connected components of more than one node (Tarjan)."""
    graph = {n: sorted({b for a, b in edges if a == n and b != n}) for n in nodes}
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
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
                result.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return result


def name(module):
    return "::".join(module) or "(root)"


def main():
    quiet = "--quiet" in sys.argv
    problems = []
    for crate_name, src in CRATES.items():
        crate = Crate(crate_name, src)
        edges = crate.edges()
        top = lambda m: m[:1]
        upper = {(top(a), top(b)) for a, b in edges if a and b and top(a) != top(b)}
        tops = sorted({top(m) for m in crate.files if m})
        if not quiet:
            print(f"# {crate_name}")
            for t in tops:
                uses = sorted(name(b) for a, b in upper if a == t)
                print(f"{name(t):14} -> {', '.join(uses) or '-'}")
        for comp in cycles(tops, upper):
            problems.append(f"{crate_name}: circle between {', '.join(map(name, comp))}")
        floors = FLOORS.get(crate_name, [])
        level = {m: i for i, floor in enumerate(floors) for m in floor}
        for a, b in sorted(upper):
            la, lb = level.get(a[0]), level.get(b[0])
            if la is not None and lb is not None and lb > la:
                problems.append(f"{crate_name}: {name(a)} imports {name(b)}, a floor above it")
        for t in tops:
            inner_nodes = [m for m in crate.files if m[:1] == t]
            if len(inner_nodes) < 2:
                continue
            inner = {(a[:2], b[:2]) for a, b in edges if a[:1] == t and b[:1] == t and a[:2] != b[:2]}
            if not quiet and inner:
                print(f"  inside {name(t)}:")
                for n in sorted({m[:2] for m in inner_nodes}):
                    uses = sorted(name(b[1:]) or "(mod)" for a, b in inner if a == n)
                    if uses:
                        print(f"    {name(n[1:]) or '(mod)':14} -> {', '.join(uses)}")
            for comp in cycles({m[:2] for m in inner_nodes}, inner):
                problems.append(f"{crate_name}: circle inside {name(t)}: {', '.join(map(name, comp))}")
        if not quiet:
            print()
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "no circle and no upward import")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
