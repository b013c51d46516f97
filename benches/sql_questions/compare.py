"""DuckDB's side of the SQL benchmark: answers duckdb.sql over the lake's Parquet files and the registry,
checks every answer against meterlake's (Parquet files written by benches/sql_questions.rs), and prints the
per-question times, the ratios and the geometric means. Exits non-zero when an answer differs."""

import argparse
import datetime
import decimal
import json
import math
import pathlib
import statistics
import sys
import time

import duckdb
import pyarrow.parquet as pq


def sections(text):
    """(kind, name, sql) for every `-- setup:` or `-- name:` section of a SQL file."""
    out = []
    for line in text.splitlines():
        for kind in ("setup", "name"):
            prefix = f"-- {kind}:"
            if line.startswith(prefix):
                out.append([kind, line[len(prefix):].strip(), ""])
                break
        else:
            if out and not line.startswith("--"):
                out[-1][2] += line + "\n"
    return [(k, n, s.strip().rstrip(";")) for k, n, s in out]


def fill(sql, params):
    for key, value in params.items():
        sql = sql.replace("{" + key + "}", value)
    return sql


def normal(value):
    """A value both engines agree on: integers as they are, other numbers as floats, times as UTC ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, (float, decimal.Decimal)):
        return float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def rows_of(table):
    rows = [tuple(normal(v) for v in row.values()) for row in table.to_pylist()]
    key = lambda r: tuple((v is None, round(v, 4) if isinstance(v, float) else v or 0) for v in r)
    return sorted(rows, key=key)


def same(a, b):
    if len(a) != len(b):
        return f"{len(a)} rows against {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if len(x) != len(y):
            return f"row {i}: {len(x)} columns against {len(y)}"
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-6):
                    return f"row {i}: {x} against {y}"
            elif u != v:
                return f"row {i}: {x} against {y}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sql", required=True)
    parser.add_argument("--answers", required=True)
    parser.add_argument("--files", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--param", action="append", default=[])
    args = parser.parse_args()

    answers = pathlib.Path(args.answers)
    files = [f.removeprefix("file://") for f in pathlib.Path(args.files).read_text().split()]
    params = dict(p.split("=", 1) for p in args.param)
    params["files"] = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    params["registry"] = args.registry
    meterlake_secs = json.loads((answers / "timings.json").read_text())

    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__}, threads {threads}")
    failures = []
    report = []
    for kind, name, sql in sections(pathlib.Path(args.sql).read_text()):
        sql = fill(sql, params)
        if kind == "setup":
            con.execute(sql)
            continue
        times = []
        table = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = con.sql(sql).arrow()
            # DuckDB 2 hands back a reader: the answer is only complete once it is read.
            table = result.read_all() if hasattr(result, "read_all") else result
            times.append(time.perf_counter() - started)
        duck = statistics.median(times)
        ours = meterlake_secs.get(name)
        if ours is None:
            failures.append(f"{name}: meterlake has no answer")
            continue
        difference = same(rows_of(pq.read_table(answers / f"{name}.parquet")), rows_of(table))
        if difference:
            failures.append(f"{name}: answers differ: {difference}")
        report.append((name, ours, duck, table.num_rows))

    print(f"{'question':<28}{'rows':>8}{'meterlake s':>14}{'duckdb s':>12}{'ratio':>8}")
    for name, ours, duck, rows in report:
        print(f"{name:<28}{rows:>8}{ours:>14.3f}{duck:>12.3f}{ours / duck:>8.2f}")
    if report:
        geo = lambda xs: math.exp(sum(math.log(max(x, 1e-6)) for x in xs) / len(xs))
        ours = geo([r[1] for r in report])
        duck = geo([r[2] for r in report])
        print(f"{'geometric mean':<36}{ours:>14.3f}{duck:>12.3f}{ours / duck:>8.2f}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"all {len(report)} answers equal")


if __name__ == "__main__":
    main()
