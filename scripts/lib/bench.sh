# What the bench scripts share (sourced): the PostgreSQL URLs of a bench database and the
# writing of a section of docs/PERFORMANCE.md.

# Sets pg_admin (the server's `test` database) and pg_url (database $1 on the same server),
# over the Unix socket when there is one, as a single-host deployment connects.
bench_pg_urls() {
  if [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then
    pg_admin="${GUICHET_BENCH_DATABASE_URL:-postgres://postgres@localhost/test?host=/var/run/postgresql}"
  else
    pg_admin="${GUICHET_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
  fi
  local base="${pg_admin%%\?*}"
  pg_url="${base%/*}/$1${pg_admin#"$base"}"
}

# True when PostgreSQL answers; then database $1 is made anew.
bench_pg_fresh() {
  psql "$pg_admin" -Atqc 'select 1' >/dev/null 2>&1 || return 1
  psql "$pg_admin" -qc "drop database if exists $1" >/dev/null
  psql "$pg_admin" -qc "create database $1" >/dev/null
}

bench_pg_drop() {
  psql "$pg_admin" -qc "drop database if exists $1" >/dev/null
}

# Replaces (or appends) the section of docs/PERFORMANCE.md whose title is $1 with $2.
bench_write_section() {
  python3 - docs/PERFORMANCE.md "$1" "$2" <<'PY'
import sys, re
path, title, section = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
pattern = re.compile(r"## " + re.escape(title) + r"\n.*?(?=\n## |\Z)", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section.strip() + "\n", text)
else:
    text = text.rstrip() + "\n\n" + section.strip() + "\n"
open(path, "w").write(text)
PY
}
