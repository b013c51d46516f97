"""The billing benchmark's pandas side: a plain pandas implementation of meterlake's billing rules for one
calendar month, over the lake's Parquet files, compared meter by meter with meterlake's bills.

Rules (docs/billing.md): 15-minute energy is the forward register's difference between consecutive
readings (a fall from >= 900,000 to < 100,000 kWh is a rollover; any other fall bills nothing); a gap of n
intervals spreads its difference in whole micro-kWh, floor(E(k+1)/n) - floor(Ek/n); an interval is billed
when it starts at or after the period start and ends by its end; its TOU class is the one in force at its
local start; tiers fill chronologically from the ladder consumption since the last settlement (inclusive
thresholds); amount = kWh x price per (tier, class); the total is rounded half-up to the fen. Energy is
counted in micro-kWh and prices in 1/1000 yuan, so every sum is an exact integer.

Handles the single-version plans with one TOU schedule the benchmark uses (the fleet's shanghai-residential)."""

import argparse
import datetime
import decimal
import pathlib
import sys
import time
import tomllib
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

INTERVAL_US = 900_000_000


def month_bounds(period, zone):
    first = datetime.datetime.strptime(period + "-01", "%Y-%m-%d")
    nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    us = lambda d: int(d.replace(tzinfo=zone).timestamp()) * 1_000_000
    return us(first), us(nxt)


def plan_tables(plan_file):
    plan = tomllib.loads(pathlib.Path(plan_file).read_text())
    (version,) = plan["versions"]
    ladder = version["ladder"]
    thresholds = [int(decimal.Decimal(t) * 1_000_000) for t in ladder.get("thresholds", [])]
    classes = list(version["prices"].keys())
    prices = np.array([[int(decimal.Decimal(p) * 1000) for p in version["prices"][c]] for c in classes]).T
    minute_class = np.zeros(1440, dtype=np.int64)
    for period in version["tou"][0]["periods"]:
        to_min = lambda hm: int(hm[:2]) * 60 + int(hm[3:])
        start, end = to_min(period["start"]), to_min(period["end"])
        minutes = np.arange(start, end) if start < end else np.r_[np.arange(start, 1440), np.arange(0, end)]
        minute_class[minutes] = classes.index(period["class"])
    settlement = ladder.get("settlement", {})
    return thresholds, prices, minute_class, ladder["accounting"], settlement


def intervals(readings):
    """Billable intervals of readings sorted by (meter, boundary): meter, start (µs), energy (micro-kWh)."""
    meter = readings["meter_id"].to_numpy()
    ts = readings["boundary_ts"].to_numpy(dtype=np.int64)
    reg = readings["register_e2"].to_numpy(dtype=np.int64)
    same = meter[1:] == meter[:-1]
    start, end = ts[:-1][same], ts[1:][same]
    before, after = reg[:-1][same], reg[1:][same]
    who = meter[1:][same]
    delta = np.where(after >= before, after - before,
                     np.where((before >= 90_000_000) & (after < 10_000_000), after + 100_000_000 - before, -1))
    keep = delta >= 0
    start, end, who, e6 = start[keep], end[keep], who[keep], delta[keep] * 10_000
    gap = np.maximum((end - start) // INTERVAL_US, 1)
    k = np.concatenate([np.arange(n) for n in gap]) if (gap > 1).any() else np.zeros(len(gap), dtype=np.int64)
    rows = np.repeat(np.arange(len(gap)), gap)
    n, e = gap[rows], e6[rows]
    energy = np.where(n == 1, e, (e * (k + 1)) // n - (e * k) // n)
    return pd.DataFrame({"meter_id": who[rows], "start": start[rows] + k * INTERVAL_US, "e6": energy})


def bill(frame, lo, hi, thresholds, prices, minute_class, carried):
    """Totals (fen) and billed kWh per meter for intervals within [lo, hi]."""
    frame = frame[(frame["start"] >= lo) & (frame["start"] + INTERVAL_US <= hi)].copy()
    local_minute = ((frame["start"] // 60_000_000) + 8 * 60) % 1440  # Asia/Shanghai: UTC+8, no DST
    frame["cls"] = minute_class[local_minute.to_numpy()]
    frame["after"] = frame.groupby("meter_id")["e6"].cumsum() + frame["meter_id"].map(carried).fillna(0).astype(np.int64)
    frame["before"] = frame["after"] - frame["e6"]
    bounds = [0] + thresholds + [np.iinfo(np.int64).max]
    amount = np.zeros(len(frame), dtype=np.int64)
    for tier in range(len(bounds) - 1):
        part = (np.minimum(frame["after"], bounds[tier + 1]) - np.maximum(frame["before"], bounds[tier])).clip(lower=0)
        # micro-kWh x 1/1000 yuan: at most ~10^11 per interval, so int64 sums stay exact.
        amount += part.to_numpy(dtype=np.int64) * prices[tier][frame["cls"].to_numpy()]
    frame["amount"] = amount  # 1e-9 yuan
    out = frame.groupby("meter_id").agg(intervals=("e6", "size"), e6=("e6", "sum"), amount=("amount", "sum"))
    out["total"] = [decimal.Decimal(int(a + 5_000_000) // 10_000_000) / 100 for a in out["amount"]]
    return out


def main():
    parser = argparse.ArgumentParser()
    for name in ("--files", "--registry", "--plan", "--period", "--answers", "--meterlake-seconds"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    started = time.perf_counter()
    files = [f.removeprefix("file://") for f in pathlib.Path(args.files).read_text().split()]
    table = pq.ParquetDataset(files, partitioning=None).read(columns=["meter_id", "boundary_ts", "energy_fwd_total_kwh"])
    table = table.filter(pc.is_valid(table.column("energy_fwd_total_kwh")))
    readings = pd.DataFrame({
        "meter_id": table.column("meter_id").to_numpy(),
        "boundary_ts": table.column("boundary_ts").cast(pa.int64()).to_numpy(),
        # decimal(12,2) through float64 is exact for 0.01 kWh steps below 10^13.
        "register_e2": np.rint(table.column("energy_fwd_total_kwh").cast(pa.float64()).to_numpy() * 100).astype(np.int64),
    })
    readings = readings.sort_values(["meter_id", "boundary_ts"], kind="stable")
    thresholds, prices, minute_class, accounting, settlement = plan_tables(args.plan)
    lo, hi = month_bounds(args.period, zone)
    all_intervals = intervals(readings)
    # Ladder consumption carried from the last settlement (annual: 1 January) to the period start.
    year = int(args.period[:4])
    settled = int(datetime.datetime(year, settlement.get("month", 1), settlement.get("day", 1), settlement.get("hour", 0), tzinfo=zone).timestamp()) * 1_000_000
    before = all_intervals[(all_intervals["start"] >= settled) & (all_intervals["start"] + INTERVAL_US <= lo)]
    carried = before.groupby("meter_id")["e6"].sum() if accounting == "annual" else pd.Series(dtype=np.int64)
    bills = bill(all_intervals, lo, hi, thresholds, prices, minute_class, carried)
    pandas_secs = time.perf_counter() - started

    ours = pd.read_csv(args.answers, dtype={"meter_id": str, "total": str, "billed_kwh": str}).set_index("meter_id")
    failures = []
    if set(ours.index) != set(bills.index):
        failures.append(f"meters differ: {len(ours)} against {len(bills)}")
    for meter, row in bills.iterrows():
        if meter not in ours.index:
            continue
        mine = ours.loc[meter]
        if decimal.Decimal(mine["total"]) != row["total"] or int(mine["intervals"]) != row["intervals"] \
                or decimal.Decimal(mine["billed_kwh"]) != decimal.Decimal(int(row["e6"])) / 1_000_000:
            failures.append(f"{meter}: meterlake {mine.to_dict()} against pandas {row['intervals']} intervals, "
                            f"{row['e6']} micro-kWh, {row['total']} yuan")
    meters = len(bills)
    ml = float(args.meterlake_seconds)
    print(f"pandas {pd.__version__}: {meters} meters, {int(bills['intervals'].sum())} intervals, "
          f"{sum(bills['total'])} yuan in {pandas_secs:.2f} s")
    print(f"per meter: meterlake {ml / meters * 1e6:.1f} µs, pandas {pandas_secs / meters * 1e6:.1f} µs, "
          f"meterlake {pandas_secs / ml:.1f}x faster")
    if failures:
        print("\n".join(failures[:20]), file=sys.stderr)
        sys.exit(1)
    print(f"all {meters} totals identical")


if __name__ == "__main__":
    main()
