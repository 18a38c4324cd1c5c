#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""man/gen-man.py HEADER OUTDIR VERSION: write tricolor's man pages from
include/tricolor.h, so they cannot drift from it.

tricolor.3 is the header's opening comment (the model and the rules a
program follows); each family page (tri_alloc.3, tri_store.3, ...) is the
declarations of its functions and macros with the comment above each one,
as in the header; every other name gets a one-line page that sources its
family's (".so man3/tri_alloc.3"). A TRI_API name, inline function or
public macro that is in no family is an error (exit 1): a new function must
be given a page. Run by make (man/local.mk); checked by
tests/packaging/man.sh."""
import os, re, sys

FAMILIES = [
    ("tri_init", "start-up and version", ["tri_init", "tri_version"]),
    ("tri_alloc", "allocate garbage-collected memory",
     ["tri_alloc", "tri_alloc_atomic", "tri_calloc", "tri_realloc", "tri_strdup",
      "tri_strndup", "tri_size", "tri_base", "tri_is_heap_ptr"]),
    ("tri_store", "the write barrier: pointer stores, loads, CAS, memmove",
     ["tri_store", "TRI_STORE", "tri_load", "tri_cas", "tri_memmove",
      "tri_store_slow_", "tri_barrier_enabled_"]),
    ("tri_layout_make", "precise object layouts: allocate objects whose pointer words are named",
     ["tri_layout_make", "tri_alloc_typed", "tri_alloc_array_typed"]),
    ("tri_add_roots", "register memory the collector scans for pointers",
     ["tri_add_roots", "tri_remove_roots"]),
    ("tri_collect", "run a collection, set the collection target",
     ["tri_collect", "tri_gc_percent"]),
    ("tri_set_finalizer", "finalizers, cleanups and keep-alive",
     ["tri_set_finalizer", "tri_add_cleanup", "tri_cleanup_stop", "tri_drain",
      "tri_keep_alive"]),
    ("tri_thread_attach", "threads, safepoints and blocking regions",
     ["tri_thread_attach", "tri_thread_detach", "tri_thread_is_attached",
      "tri_thread_set_name", "tri_safepoint", "tri_blocking_enter",
      "tri_blocking_leave", "TRI_BLOCKING"]),
    ("tri_weak_make", "weak pointers and interning",
     ["tri_weak_make", "tri_weak_get", "tri_weak_store", "tri_weak_equal", "tri_intern"]),
    ("tri_resource_new", "external resources that pace the collector",
     ["tri_resource_new", "tri_resource_acquire", "tri_resource_release",
      "tri_resource_count"]),
    ("tri_read_metric", "metrics and pauses",
     ["tri_read_metric", "tri_metrics_list", "tri_pauses"]),
]
# Header names that are not functions a user calls: documented in the
# pages of the names they serve, not given their own entry.
HELPERS = {"TRI_STATIC_ASSERT_"}


def esc(line):
    line = line.replace("\\", "\\e")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def parse(text):
    """[(names, declaration lines, comment lines)] in header order."""
    lines = text.split("\n")
    items, comment, i = [], [], 0
    while i < len(lines):
        ln = lines[i]
        s = ln.strip()
        if s.startswith("/*"):
            block = [ln]
            while "*/" not in lines[i]:
                i += 1
                block.append(lines[i])
            body = []
            for b in block:
                b = re.sub(r"^\s*/?\*+/?", "", b).rstrip()
                b = re.sub(r"\*/\s*$", "", b).rstrip()
                body.append(b[1:] if b.startswith(" ") else b)
            while body and not body[0].strip():
                body.pop(0)
            while body and not body[-1].strip():
                body.pop()
            comment = body
            i += 1
            continue
        m = re.match(r"#define\s+([A-Za-z_][A-Za-z0-9_]*)\(", s)
        if m and (m.group(1).startswith(("TRI_", "tri_"))):
            items.append(([m.group(1)], [s.rstrip("\\").rstrip()], comment))
            while lines[i].rstrip().endswith("\\"):
                i += 1
            comment = []
            i += 1
            continue
        if s.startswith(("TRI_API", "extern TRI_API", "static inline")):
            decl = [s]
            while not re.search(r"[;{]\s*$", lines[i]) and not lines[i].rstrip().endswith(")") :
                i += 1
                decl.append(lines[i].strip())
            if decl[-1].endswith("{"):
                decl[-1] = decl[-1][:-1].rstrip()
            if s.startswith("static inline") and not decl[-1].endswith(";"):
                decl[-1] += ";"
                # skip the body
                depth = lines[i].count("{") - lines[i].count("}")
                while depth > 0 or "{" not in "".join(lines[i:i+1]) and depth == 0 and not lines[i].startswith("}"):
                    i += 1
                    depth += lines[i].count("{") - lines[i].count("}")
                    if depth <= 0 and "}" in lines[i]:
                        break
            joined = " ".join(decl)
            joined = re.sub(r"\bTRI_API\s+", "", joined)
            joined = re.sub(r"\s*TRI_[A-Z_]*ATTR_?\b", "", joined)
            names = re.findall(r"\b(tri_[a-z0-9_]+)\s*[(;]", joined)[:1]
            if items and items[-1][2] is comment and comment:
                items[-1][0].extend(names)
                items[-1][1].append(joined)
            else:
                items.append((names, [joined], comment))
            i += 1
            continue
        if s and not s.startswith(("#", "}", "typedef", "enum", "{", "TRI_", "uint", "const", "struct")):
            pass
        i += 1
    return items


def page_header(name, section_title, version):
    return ['.TH %s 3 "" "tricolor %s" "tricolor manual"' % (name.upper(), version)]


def main():
    header, outdir, version = sys.argv[1:4]
    text = open(header).read()
    items = parse(text)
    family_of = {}
    for page, _, names in FAMILIES:
        for n in names:
            family_of[n] = page
    missing = [n for it in items for n in it[0] if n not in family_of and n not in HELPERS]
    if missing:
        sys.stderr.write("gen-man.py: %s in no man page family (add to FAMILIES in man/gen-man.py)\n"
                         % ", ".join(missing))
        return 1
    os.makedirs(outdir, exist_ok=True)
    written = []
    for page, title, names in FAMILIES:
        out = page_header(page, title, version)
        out += [".SH NAME", "\\- ".join([", ".join(n for n in names if not n.endswith("_")) + " ", title])]
        out += [".SH SYNOPSIS", ".nf", ".B #include <tricolor.h>", ".PP"]
        body = []
        for names_i, decls, comment in items:
            if not any(family_of.get(n) == page for n in names_i):
                continue
            for d in decls:
                out.append(esc(d))
            body.append((decls, comment))
        out += [".fi", ".PP", "Link with", ".BR \"$(pkg-config \\-\\-cflags \\-\\-libs tricolor)\" ."]
        out += [".SH DESCRIPTION"]
        for decls, comment in body:
            out += [".PP", ".nf"]
            for d in decls:
                out.append(".B " + esc(d).replace('"', '\\(dq'))
            out += [".fi", ".nf"]
            out += [esc(c) for c in comment] or ["(see include/tricolor.h)"]
            out += [".fi"]
        out += [".SH SEE ALSO", ", ".join(".BR %s (3)" % p for p, _, _ in FAMILIES if p != page).replace(", .BR", "\n.BR").replace(" (3)", " (3),")]
        out[-1] = out[-1].rstrip(",")
        out.insert(len(out) - 1, ".BR tricolor (3),")
        write(outdir, page, out)
        written.append(page)
        for n in names:
            if n != page and not n.endswith("_"):
                write(outdir, n, [".so man3/%s.3" % page])
                written.append(n)
    # tricolor.3: the model and the rules, the header's first comment.
    first = items and None
    m = re.match(r"\s*(?:/\*\s*SPDX-License-Identifier:[^*]*\*/\s*)?/\*(.*?)\*/", text, re.S)
    intro = [re.sub(r"^\s*\* ?", "", l) for l in m.group(1).split("\n")][1:]
    out = page_header("tricolor", "", version)
    out += [".SH NAME", "tricolor \\- a concurrent garbage-collected heap for multithreaded C",
            ".SH SYNOPSIS", ".nf", ".B #include <tricolor.h>", ".fi", ".PP",
            "Link with", ".BR \"$(pkg-config \\-\\-cflags \\-\\-libs tricolor)\" .",
            ".SH DESCRIPTION", ".nf"]
    out += [esc(l) for l in intro if l.strip() != "/"]
    out += [".fi", ".SH FUNCTIONS", ".nf"]
    for page, title, names in FAMILIES:
        out.append("%s(3): %s" % (page, title))
        out.append("    " + ", ".join(n for n in names if not n.endswith("_")))
    out += [".fi", ".SH SEE ALSO"]
    out += [".BR %s (3)," % p for p, _, _ in FAMILIES]
    out[-1] = out[-1].rstrip(",")
    out += [".PP", "README.md, docs/design.md and docs/misuse.md in the tricolor sources."]
    write(outdir, "tricolor", out)
    written.append("tricolor")
    return 0


def write(outdir, name, lines):
    with open(os.path.join(outdir, name + ".3"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
