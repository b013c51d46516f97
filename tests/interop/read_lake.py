"""Reads meterlake's readings table with other tools and prints what each saw, as JSON.

Usage: read_lake.py TABLE_DIR FILE_LIST
  TABLE_DIR  the Delta table directory (read by the `deltalake` package and by Polars' read_delta)
  FILE_LIST  a text file naming the table's active Parquet files, one per line (read by pyarrow, Polars
             and DuckDB directly, the way a platform without a Delta reader would)
Each reader reports the row count and the sum of energy_fwd_total_kwh as an exact decimal string.
"""

import json
import sys
from decimal import Decimal

import duckdb
import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

CENT = Decimal("0.01")


def exact(value):
    return str(Decimal(str(value)).quantize(CENT)) if value is not None else "0.00"


def main():
    table_dir, file_list = sys.argv[1], sys.argv[2]
    with open(file_list, encoding="utf-8") as f:
        files = [line.strip() for line in f if line.strip()]
    seen = {}

    delta = DeltaTable(table_dir)
    arrow = delta.to_pyarrow_table()
    seen["deltalake"] = {
        "rows": arrow.num_rows,
        "sum": exact(pc.sum(arrow["energy_fwd_total_kwh"]).as_py()),
        "version": delta.version(),
        "files": len(delta.file_uris()),
    }

    rows, total = 0, Decimal(0)
    for path in files:
        part = pq.read_table(path, columns=["energy_fwd_total_kwh"])
        rows += part.num_rows
        total += pc.sum(part["energy_fwd_total_kwh"]).as_py() or Decimal(0)
    seen["pyarrow"] = {"rows": rows, "sum": exact(total)}

    frame = pl.scan_parquet(files).select(
        pl.len().alias("rows"), pl.col("energy_fwd_total_kwh").sum().alias("sum")
    ).collect()
    seen["polars"] = {"rows": int(frame["rows"][0]), "sum": exact(frame["sum"][0])}
    via_delta = pl.read_delta(table_dir)
    seen["polars_delta"] = {
        "rows": via_delta.height,
        "sum": exact(via_delta["energy_fwd_total_kwh"].sum()),
    }

    con = duckdb.connect()
    n, s = con.execute(
        "SELECT count(*), sum(energy_fwd_total_kwh) FROM read_parquet(?, hive_partitioning = true)",
        [files],
    ).fetchone()
    seen["duckdb"] = {"rows": n, "sum": exact(s)}

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
