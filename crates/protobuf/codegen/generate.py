#!/usr/bin/env python3
"""Generates crates/protobuf/src/generated.rs: conversions between k8s-pb's prost messages and
k8s-openapi's types for every built-in kind the embedded API server serves.

Inputs (read-only):
  * the k8s-pb crate sources (prost-build output, one mod.rs per group/version),
  * the k8s-openapi crate sources (one file per type, under src/v1_NN/),
  * the Go API types (k8s.io/api, k8s.io/apimachinery, k8s.io/apiextensions-apiserver
    checkouts) for two facts neither crate carries: which fields are embedded inline in JSON
    but nested in protobuf (Probe.handler, Volume.volumeSource ...), and which scalar fields
    are Go non-pointer `omitempty` fields (their zero value means "absent", so a decoded zero is
    dropped exactly as Go's JSON encoder would drop it).

Usage:
  python3 crates/protobuf/codegen/generate.py \
      --pb ~/.cargo/registry/src/*/k8s-pb-0.9.0 \
      --openapi ~/.cargo/registry/src/*/k8s-openapi-0.29.0/src/v1_37 \
      --go-api <k8s.io/api checkout> --go-apimachinery <...> --go-apiextensions <...> \
      > crates/protobuf/src/generated.rs && cargo fmt -p rkube-protobuf

Go checkouts may be bare git directories (read with `git show HEAD:path`) or work trees.
The output is checked in; the generator runs only when a crate version changes.
"""

import argparse
import os
import re
import subprocess
import sys
from collections import OrderedDict

# Root kinds: (group, version, kind, openapi module path). Lists are built generically.
ROOTS = [
    ("", "v1", "Namespace", "api::core::v1"),
    ("", "v1", "Node", "api::core::v1"),
    ("", "v1", "Pod", "api::core::v1"),
    ("", "v1", "Service", "api::core::v1"),
    ("", "v1", "Endpoints", "api::core::v1"),
    ("", "v1", "ConfigMap", "api::core::v1"),
    ("", "v1", "Secret", "api::core::v1"),
    ("", "v1", "ServiceAccount", "api::core::v1"),
    ("", "v1", "Event", "api::core::v1"),
    ("events.k8s.io", "v1", "Event", "api::events::v1"),
    ("apps", "v1", "Deployment", "api::apps::v1"),
    ("apps", "v1", "ReplicaSet", "api::apps::v1"),
    ("apps", "v1", "DaemonSet", "api::apps::v1"),
    ("apps", "v1", "StatefulSet", "api::apps::v1"),
    ("batch", "v1", "Job", "api::batch::v1"),
    ("batch", "v1", "CronJob", "api::batch::v1"),
    ("coordination.k8s.io", "v1", "Lease", "api::coordination::v1"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "apiextensions_apiserver::pkg::apis::apiextensions::v1"),
    ("autoscaling", "v1", "Scale", "api::autoscaling::v1"),
]
# Non-root types the wire format needs too.
EXTRA = [
    "apimachinery::pkg::apis::meta::v1::ListMeta",
    "apimachinery::pkg::apis::meta::v1::Status",
    "apimachinery::pkg::apis::meta::v1::DeleteOptions",
]

# Leaf types converted by hand in convert.rs (openapi path -> pb path).
LEAVES = {
    "apimachinery::pkg::api::resource::Quantity": "apimachinery::pkg::api::resource::Quantity",
    "apimachinery::pkg::util::intstr::IntOrString": "apimachinery::pkg::util::intstr::IntOrString",
    "apimachinery::pkg::apis::meta::v1::Time": "apimachinery::pkg::apis::meta::v1::Time",
    "apimachinery::pkg::apis::meta::v1::MicroTime": "apimachinery::pkg::apis::meta::v1::MicroTime",
    "apimachinery::pkg::apis::meta::v1::FieldsV1": "apimachinery::pkg::apis::meta::v1::FieldsV1",
    "apimachinery::pkg::runtime::RawExtension": "apimachinery::pkg::runtime::RawExtension",
    "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON": "apiextensions_apiserver::pkg::apis::apiextensions::v1::Json",
    "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray": "apiextensions_apiserver::pkg::apis::apiextensions::v1::JsonSchemaPropsOrArray",
    "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrBool": "apiextensions_apiserver::pkg::apis::apiextensions::v1::JsonSchemaPropsOrBool",
    "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrStringArray": "apiextensions_apiserver::pkg::apis::apiextensions::v1::JsonSchemaPropsOrStringArray",
    "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceStatus": "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceStatus",
    "ByteString": "Vec<u8>",
}
PRIMITIVES = {"String", "i32", "i64", "bool", "f64"}

# openapi field name -> pb field name where normalisation does not find it.
FIELD_ALIASES = {"ref_path": "r#ref"}

# Go package directory of each openapi/pb module path prefix.
GO_PACKAGES = [
    ("api::", "api", lambda m: m[len("api::"):].replace("::", "/")),
    ("apimachinery::pkg::apis::meta::v1", "apimachinery", lambda m: "pkg/apis/meta/v1"),
    ("apiextensions_apiserver::pkg::apis::apiextensions::v1", "apiextensions", lambda m: "pkg/apis/apiextensions/v1"),
]


def norm(name):
    name = name[2:] if name.startswith("r#") else name
    return name.rstrip("_").replace("_", "").lower()


# ---------------------------------------------------------------------------------------------
# k8s-pb (prost-build output)


def strip_prost_paths(ty, module):
    ty = re.sub(r"\s+", "", ty)
    ty = ty.replace("::core::option::Option", "Option").replace("::prost::alloc::vec::Vec", "Vec")
    ty = ty.replace("::prost::alloc::string::String", "String")
    ty = ty.replace("::prost::alloc::collections::BTreeMap", "BTreeMap")
    ty = ty.replace("::prost::alloc::boxed::Box", "Box").replace(",>", ">")

    def resolve(m):
        path = m.group(0)
        parts = module.split("::")
        segs = path.split("::")
        ups = 0
        while segs and segs[0] == "super":
            ups += 1
            segs = segs[1:]
        return "::".join(parts[: len(parts) - ups] + segs)

    ty = re.sub(r"(super::)+[A-Za-z0-9_:]+", resolve, ty)
    # bare names refer to the current module
    def bare(m):
        name = m.group(1)
        if name in ("Option", "Vec", "String", "BTreeMap", "Box", "u8", "i32", "i64", "bool", "f64", "u32", "u64", "f32"):
            return m.group(0)
        return m.group(0).replace(name, module + "::" + name, 1)

    ty = re.sub(r"(?<![:\w])([A-Z]\w*)(?=[<>,]|$)", bare, ty)
    return ty


def parse_pb(root):
    structs = {}
    src = os.path.join(root, "src")
    for dirpath, _, files in os.walk(src):
        if "mod.rs" not in files:
            continue
        rel = os.path.relpath(dirpath, src)
        module = rel.replace(os.sep, "::")
        text = open(os.path.join(dirpath, "mod.rs")).read()
        text = "\n".join(l for l in text.split("\n") if not l.strip().startswith("///"))
        for m in re.finditer(r"pub struct (\w+) \{(\}|.*?\n\})", text, re.S):
            name, body = m.group(1), m.group(2).rstrip("}").rstrip()
            fields = OrderedDict()
            for fm in re.finditer(r"#\[prost\((.*?)\)\]\s*pub ([\w#]+):\s*(.*?),\s*(?=#\[prost|$)", body, re.S):
                attr, fname, fty = fm.group(1), fm.group(2), fm.group(3)
                tag = re.search(r'tag\s*=\s*"(\d+)"', attr)
                fields[fname] = {
                    "attr": attr,
                    "type": strip_prost_paths(fty, module),
                    "tag": int(tag.group(1)) if tag else None,
                }
            structs[module + "::" + name] = fields
    return structs


# ---------------------------------------------------------------------------------------------
# k8s-openapi


def parse_openapi(root):
    structs = {}
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        module = "" if rel == "." else rel.replace(os.sep, "::")
        for f in files:
            if not f.endswith(".rs") or f == "mod.rs":
                continue
            text = open(os.path.join(dirpath, f)).read()
            for m in re.finditer(r"\npub struct (\w+) \{(.*?)\n\}", text, re.S):
                name, body = m.group(1), m.group(2)
                fields = OrderedDict()
                for fm in re.finditer(r"^    pub ([\w#]+): (.*),$", body, re.M):
                    ty = re.sub(r"\s+", "", fm.group(2))
                    ty = ty.replace("std::collections::BTreeMap", "BTreeMap").replace("std::vec::Vec", "Vec")
                    ty = ty.replace("std::string::String", "String").replace("std::boxed::Box", "Box")
                    ty = ty.replace("crate::", "")
                    fields[fm.group(1)] = ty
                structs[(module + "::" if module else "") + name] = fields
    return structs


# ---------------------------------------------------------------------------------------------
# Go types: (package dir, lowercased struct name) -> {tag: (pointer, omitempty, inline)}


def go_files(repo, subdir):
    if os.path.isdir(os.path.join(repo, subdir)):
        d = os.path.join(repo, subdir)
        return [open(os.path.join(d, f)).read() for f in sorted(os.listdir(d)) if f.endswith(".go") and not f.endswith("_test.go")]
    names = subprocess.run(["git", "--git-dir", repo, "ls-tree", "--name-only", "HEAD", subdir + "/"],
                           capture_output=True, text=True).stdout.split()
    out = []
    for n in names:
        if n.endswith(".go") and not n.endswith("_test.go"):
            out.append(subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + n], capture_output=True, text=True).stdout)
    return out


def parse_go(repos):
    info = {}
    cache = {}

    def load(repo_key, pkg):
        key = (repo_key, pkg)
        if key in cache:
            return cache[key]
        structs = {}
        for text in go_files(repos[repo_key], pkg):
            for m in re.finditer(r"\ntype (\w+) struct \{(.*?)\n\}", text, re.S):
                fields = {}
                for line in m.group(2).split("\n"):
                    line = line.strip()
                    tm = re.search(r'protobuf:"[a-z0-9]+,(\d+),', line)
                    if not tm or line.startswith("//"):
                        continue
                    tag = int(tm.group(1))
                    jm = re.search(r'json:"([^"]*)"', line)
                    json = jm.group(1) if jm else ""
                    decl = line.split("`")[0].split()
                    inline = len(decl) == 1 or json.startswith(",inline") or json == ""
                    gotype = decl[-1] if decl else ""
                    fields[tag] = {
                        "pointer": gotype.startswith("*"),
                        "omitempty": "omitempty" in json,
                        "inline": inline,
                        "slice_or_map": gotype.startswith("[]") or gotype.startswith("map["),
                    }
                structs[m.group(1).lower()] = fields
        cache[key] = structs
        return structs

    def lookup(module, name):
        for prefix, repo_key, pkg in GO_PACKAGES:
            if module.startswith(prefix):
                return load(repo_key, pkg(module)).get(name.lower(), {})
        return {}

    return lookup


# ---------------------------------------------------------------------------------------------
# matching and emission


def split_generic(ty, outer):
    if ty.startswith(outer + "<") and ty.endswith(">"):
        return ty[len(outer) + 1 : -1]
    return None


def shape_openapi(ty):
    inner = split_generic(ty, "Option")
    if inner is not None:
        if inner.startswith("Vec<"):
            return "optvec", split_generic(inner, "Vec")
        if inner.startswith("BTreeMap<"):
            return "optmap", inner[len("BTreeMap<String,") : -1]
        return "opt", inner
    if ty.startswith("Vec<"):
        return "vec", split_generic(ty, "Vec")
    if ty.startswith("BTreeMap<"):
        return "map", ty[len("BTreeMap<String,") : -1]
    return "req", ty


def shape_pb(ty):
    inner = split_generic(ty, "Option")
    if inner is not None:
        return "opt", leaf_elem(inner)
    if ty.startswith("Vec<") and ty != "Vec<u8>":
        return "vec", split_generic(ty, "Vec")
    if ty.startswith("BTreeMap<"):
        return "map", ty[len("BTreeMap<String,") : -1]
    return "req", ty


def leaf_elem(ty):
    """The element type a collection or option wraps, with Box removed."""
    b = split_generic(ty, "Box")
    return b if b is not None else ty


def element_ok(o_elem, p_elem, structs_ok):
    o_elem = leaf_elem(o_elem)
    if o_elem in PRIMITIVES:
        return p_elem == o_elem or (o_elem, p_elem) in {("i32", "i64"), ("i64", "i32")}
    if o_elem in LEAVES:
        return LEAVES[o_elem] == p_elem
    return o_elem in structs_ok and structs_ok[o_elem] == p_elem


def rust_path(kind, p):
    if p in PRIMITIVES or p == "Vec<u8>":
        return p
    if p == "ByteString":
        return "oa::ByteString"
    return ("oa::" if kind == "oa" else "pb::") + p


class Gen:
    def __init__(self, pb, oa, go):
        self.pb, self.oa, self.go = pb, oa, go
        self.pairs = OrderedDict()  # openapi path -> pb path
        self.gaps = []
        self.gap_owners = {}  # openapi path -> its GAPS entries
        self.edges = {}  # openapi path -> openapi struct types of its fields

    def gap(self, owner, text):
        self.gaps.append(text)
        self.gap_owners.setdefault(owner, []).append(text)

    def reachable(self, root):
        seen, stack = set(), [root]
        while stack:
            o = stack.pop()
            if o in seen:
                continue
            seen.add(o)
            stack.extend(self.edges.get(o, ()))
        return seen

    def kind_gaps(self, root):
        """The GAPS entries of every type reachable from `root` (empty: the kind is lossless)."""
        return [g for o in sorted(self.reachable(root)) for g in self.gap_owners.get(o, [])]

    def pb_for(self, oa_path):
        module, name = oa_path.rsplit("::", 1)
        for cand in self.pb:
            cm, cn = cand.rsplit("::", 1)
            if cm == module and cn.lower() == name.lower():
                return cand
        return None

    def collect(self, roots):
        queue = list(roots)
        while queue:
            o = queue.pop(0)
            if o in self.pairs or o in LEAVES or o in PRIMITIVES:
                continue
            p = self.pb_for(o)
            if p is None or o not in self.oa:
                self.gap(o, f"type {o}: no protobuf message")
                continue
            self.pairs[o] = p
            self.edges[o] = []
            for fty in self.oa[o].values():
                _, elem = shape_openapi(fty)
                elem = leaf_elem(elem)
                if "::" in elem and elem not in LEAVES:
                    queue.append(elem)
                    self.edges[o].append(elem)

    def field_exprs(self, o, p):
        """Returns (from_pb field inits, into_pb field inits, prelude lines)."""
        ofields = self.oa[o]
        pfields = self.pb[p]
        pmod, pname = p.rsplit("::", 1)
        go = self.go(pmod, pname)
        by_norm = {norm(f): f for f in pfields}
        matched = {}
        for of in ofields:
            pf = FIELD_ALIASES.get(of) if FIELD_ALIASES.get(of) in pfields else by_norm.get(norm(of))
            if pf is not None:
                matched[of] = ("", pf, p, go)
        # protobuf-nested, JSON-inline members (Probe.handler, Volume.volumeSource ...)
        inlines = []
        for pf, meta in pfields.items():
            if pf in {m[1] for m in matched.values() if m[0] == ""}:
                continue
            kind, elem = shape_pb(meta["type"])
            ginfo = go.get(meta["tag"], {})
            if kind == "opt" and elem in self.pb and ginfo.get("inline", True):
                sub = self.pb[elem]
                smod, sname = elem.rsplit("::", 1)
                sgo = self.go(smod, sname)
                sub_norm = {norm(f): f for f in sub}
                hits = {of: sub_norm[norm(of)] for of in ofields if of not in matched and norm(of) in sub_norm}
                if hits:
                    inlines.append((pf, elem))
                    for of, sf in hits.items():
                        matched[of] = (pf, sf, elem, sgo)
        froms, intos, prelude = [], [], []
        inline_intos = {pf: [] for pf, _ in inlines}
        for pf, elem in inlines:
            prelude.append(f"let inl_{pf.replace('r#', '')} = p.{pf}.unwrap_or_default();")
        for of, oty in ofields.items():
            if of not in matched:
                froms.append(f"{of}: Default::default(),")
                self.gap(o, f"{o}.{of}: not in protobuf (dropped on encode)")
                continue
            via, pf, powner, pgo = matched[of]
            pmeta = self.pb[powner][pf]
            okind, oelem = shape_openapi(oty)
            pkind, pelem = shape_pb(pmeta["type"])
            src = f"inl_{via.replace('r#', '')}.{pf}" if via else f"p.{pf}"
            if not element_ok(oelem, pelem, self.pairs):
                froms.append(f"{of}: Default::default(),")
                self.gap(o, f"{o}.{of}: types differ ({oty} vs {pmeta['type']}), dropped")
                continue
            ginfo = pgo.get(pmeta["tag"], {})
            zero_is_absent = (not ginfo.get("pointer", True)) and ginfo.get("omitempty", False)
            combo = (okind, pkind)
            same = leaf_elem(oelem) in PRIMITIVES and leaf_elem(oelem) == pelem
            if combo in (("optvec", "vec"), ("optmap", "map")) and same:
                # Same element type on both sides: move the collection, do not rebuild it.
                f, t = f"non_empty({src})", f"self.{of}.unwrap_or_default()"
            elif combo in (("vec", "vec"), ("map", "map")) and same:
                f, t = src, f"self.{of}"
            elif combo == ("opt", "opt"):
                helper = "opt_nz" if zero_is_absent and leaf_elem(oelem) in PRIMITIVES else "opt"
                f, t = f"{helper}({src})", f"opt_back(self.{of})"
            elif combo == ("req", "opt"):
                f, t = f"req({src})", f"req_back(self.{of})"
            elif combo in (("optvec", "vec"), ("optmap", "map")):
                f, t = f"coll({src})", f"coll_back(self.{of})"
            elif combo in (("vec", "vec"), ("map", "map")):
                f, t = f"Convert::from_pb({src})", f"self.{of}.into_pb()"
            elif combo == ("optvec", "opt") and pelem == "Vec<u8>":
                f, t = f"opt({src})", f"opt_back(self.{of})"
            else:
                froms.append(f"{of}: Default::default(),")
                self.gap(o, f"{o}.{of}: shapes differ ({oty} vs {pmeta['type']}), dropped")
                continue
            froms.append(f"{of}: {f},")
            if via:
                inline_intos[via].append(f"{pf}: {t},")
            else:
                intos.append(f"{pf}: {t},")
        for pf, elem in inlines:
            body = " ".join(inline_intos[pf])
            intos.append(f"{pf}: Some({rust_path('pb', elem)} {{ {body} ..Default::default() }}),")
        return froms, intos, prelude

    def emit(self):
        out = []
        out.append("// @generated by crates/protobuf/codegen/generate.py: do not edit by hand.")
        out.append("//! Conversions between k8s-pb messages and k8s-openapi types (generated).")
        out.append("")
        out.append("#![allow(clippy::needless_update, clippy::default_trait_access, unused_variables)]")
        out.append("")
        out.append("use crate::convert::*;")
        out.append("use k8s_openapi as oa;")
        out.append("use k8s_pb as pb;")
        out.append("")
        for o, p in self.pairs.items():
            froms, intos, prelude = self.field_exprs(o, p)
            op, pp = rust_path("oa", o), rust_path("pb", p)
            out.append(f"impl Convert<{pp}> for {op} {{")
            out.append(f"    fn from_pb(p: {pp}) -> Self {{")
            for l in prelude:
                out.append(f"        {l}")
            out.append("        Self {")
            for l in froms:
                out.append(f"            {l}")
            out.append("        }")
            out.append("    }")
            out.append(f"    fn into_pb(self) -> {pp} {{")
            out.append(f"        {pp} {{")
            for l in intos:
                out.append(f"            {l}")
            out.append("            ..Default::default()")
            out.append("        }")
            out.append("    }")
            out.append("}")
            out.append("")
        # kind dispatch
        out.append("/// Calls `$m!(group, version, kind, openapi type, protobuf type)` for every built-in kind.")
        out.append("#[macro_export]")
        out.append("macro_rules! for_each_kind {")
        out.append("    ($m:ident) => {")
        for g, v, k, mod in ROOTS:
            o = f"{mod}::{k}"
            p = self.pairs.get(o)
            if p:
                out.append(f'        $m!("{g}", "{v}", "{k}", k8s_openapi::{o}, k8s_pb::{p});')
        out.append("    };")
        out.append("}")
        out.append("")
        out.append("/// Whether every field k8s-openapi has on the kind converts to and from protobuf: no type")
        out.append("/// reachable from it has a [`GAPS`] entry (see [`KIND_GAPS`]).")
        out.append("pub fn is_lossless(group: &str, kind: &str) -> bool {")
        lossless = [(g, k) for g, v, k, mod in ROOTS if f"{mod}::{k}" in self.pairs and not self.kind_gaps(f"{mod}::{k}")]
        pats = " | ".join(f'("{g}", "{k}")' for g, k in lossless) or '("", "")'
        out.append(f"    matches!((group, kind), {pats})")
        out.append("}")
        out.append("")
        out.append("/// Per kind with gaps: `(group, kind, the GAPS entries of the types reachable from it)`.")
        out.append("pub const KIND_GAPS: &[(&str, &str, &[&str])] = &[")
        for g, v, k, mod in ROOTS:
            gaps = self.kind_gaps(f"{mod}::{k}")
            if gaps:
                items = ", ".join(f'"{x}"' for x in gaps)
                out.append(f'    ("{g}", "{k}", &[{items}]),')
        out.append("];")
        out.append("")
        out.append("/// Fields and types the conversion cannot carry (k8s-openapi is newer than k8s-pb).")
        out.append("pub const GAPS: &[&str] = &[")
        for g in self.gaps:
            out.append(f'    "{g}",')
        out.append("];")
        return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pb", required=True)
    ap.add_argument("--openapi", required=True)
    ap.add_argument("--go-api", required=True)
    ap.add_argument("--go-apimachinery", required=True)
    ap.add_argument("--go-apiextensions", required=True)
    a = ap.parse_args()
    pb = parse_pb(a.pb)
    oa = parse_openapi(a.openapi)
    go = parse_go({"api": a.go_api, "apimachinery": a.go_apimachinery, "apiextensions": a.go_apiextensions})
    g = Gen(pb, oa, go)
    roots = [f"{mod}::{k}" for _, _, k, mod in ROOTS] + EXTRA
    g.collect(roots)
    sys.stdout.write(g.emit())
    print(f"{len(g.pairs)} message pairs, {len(g.gaps)} gaps", file=sys.stderr)


if __name__ == "__main__":
    main()
