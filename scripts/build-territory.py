#!/usr/bin/env python3
"""Build data/territoire.tsv.gz, the compact territory referential that Guichet ships.

Source: the npm package @etalab/decoupage-administratif 6.0.0 (MIT, Etalab), kept unchanged in
../shared/data/. Run from the repository root:  python3 scripts/build-territory.py
The output is deterministic (sorted rows, gzip mtime 0), so re-running it gives the same bytes.

Format: UTF-8, tab-separated, one record a line, first column the record kind:
  R  code  nom  chef_lieu
  D  code  region  nom  chef_lieu
  E  siren  nom  type  population  member_insee_codes(comma-separated)
  C  insee  type  nom  departement  region  siren  postal_codes(comma)  population  parent_insee
"""
import gzip, io, json, os, sys, tarfile

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                   "etalab-decoupage-administratif-6.0.0.tgz")
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "territoire.tsv.gz")

def clean(v):
    s = "" if v is None else str(v)
    if "\t" in s or "\n" in s:
        sys.exit(f"unexpected separator in {s!r}")
    return s

def main():
    src = sys.argv[1] if len(sys.argv) > 1 else SRC
    with tarfile.open(src) as tar:
        load = lambda n: json.load(tar.extractfile(f"package/data/{n}.json"))
        regions, deps, epcis, communes = (load(n) for n in ("regions", "departements", "epci", "communes"))
    rows = []
    for r in regions:
        rows.append(["R", r["code"], r["nom"], r.get("chefLieu")])
    for d in deps:
        rows.append(["D", d["code"], d["region"], d["nom"], d.get("chefLieu")])
    for e in epcis:
        members = sorted(m["code"] for m in e["membres"])
        rows.append(["E", e["code"], e["nom"], e["type"], e.get("populationTotale"), ",".join(members)])
    for c in communes:
        parent = c.get("chefLieu") or c.get("commune") or ""
        rows.append(["C", c["code"], c["type"], c["nom"], c.get("departement"), c.get("region"),
                     c.get("siren"), ",".join(c.get("codesPostaux", [])), c.get("population"), parent])
    order = {"R": 0, "D": 1, "E": 2, "C": 3}
    rows.sort(key=lambda r: (order[r[0]], r[1], r[2]))
    text = "".join("\t".join(clean(v) for v in r) + "\n" for r in rows)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    with open(OUT, "wb") as f:
        f.write(buf.getvalue())
    print(f"{OUT}: {len(rows)} records, {len(buf.getvalue())} bytes")

if __name__ == "__main__":
    main()
