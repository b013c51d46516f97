//! The meters of a simulated history and their day-by-day readings.

use std::ops::Range;

use arrow::array::RecordBatch;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};

use super::super::fault::{Fault, FaultKind};
use super::super::profile::unit_hash;
use super::super::pv::PvSystem;
use super::super::registry::{AreaRecord, FaultLabel, MeterKind, MeterRecord};
use super::super::theft::{RegisteredDay, Theft, TheftKind, TheftLabel, SLOTS};
use super::super::tou::TouSchedule;
use super::health::Health;
use super::household::Household;
use super::rows::{WireRow, WireRows};
use super::{HistoryEvent, HistoryPlan};
use crate::dlt645::MeterEvent;

/// Salts of the fleet's own draws.
const THEFT_SALT: u64 = 0x7EF7;
const EVENT_SALT: u64 = 0xE7E7;
const WEATHER_SALT: u64 = 0x3EA7;

/// Registers in Wh: forward total, T1–T4, reverse.
#[derive(Debug, Clone, Copy, Default)]
struct Registers([f64; 6]);

impl Registers {
    fn centi_kwh(&self) -> [i128; 6] {
        self.0.map(|wh| (wh / 10.0).floor() as i128)
    }
}

/// One customer meter.
#[derive(Debug, Clone)]
struct Customer {
    meter_id: String,
    household: Household,
    health: Health,
    theft: Option<Theft>,
    pv: Option<PvSystem>,
    power_factor: f64,
    voltage_offset: f64,
    registers: Registers,
    events: [i64; 6],
}

/// The simulated meters of a [`HistoryPlan`] and their state from one day to the next.
pub struct HistoryFleet {
    plan: HistoryPlan,
    customers: Vec<Customer>,
    supply: Vec<(Registers, Health)>,
    tou: TouSchedule,
}

fn event_index(event: MeterEvent) -> usize {
    MeterEvent::ALL
        .iter()
        .position(|e| *e == event)
        .unwrap_or(0)
}

impl HistoryFleet {
    /// Draws every household, meter health and theft of `plan` (call [`HistoryPlan::validate`] first).
    pub fn new(plan: HistoryPlan) -> Self {
        let last = plan.last_day();
        let span = i64::from(plan.days);
        let customers = (0..plan.areas * plan.customers_per_area)
            .map(|index| {
                let i = index as u64;
                let area = index / plan.customers_per_area;
                let j = index % plan.customers_per_area;
                let household = Household::draw(plan.seed, i, plan.first_day, last);
                let u = |salt: u64| unit_hash(plan.seed ^ THEFT_SALT, i * 16 + salt);
                let theft = (u(0) < plan.theft_share).then(|| {
                    let kind = TheftKind::ALL
                        [(u(1) * TheftKind::ALL.len() as f64) as usize % TheftKind::ALL.len()];
                    let (low, high) = kind.moderate();
                    // A third steal from before the history; the rest start a quarter to three quarters in.
                    let onset = if u(2) < 0.3 {
                        plan.first_day - TimeDelta::days(10)
                    } else {
                        plan.first_day
                            + TimeDelta::days(span / 4 + (u(3) * (span / 2) as f64) as i64)
                    };
                    Theft {
                        kind,
                        onset,
                        intensity: low + (high - low) * u(4),
                        seed: plan.seed ^ i,
                    }
                });
                Customer {
                    meter_id: meter_id(&plan, area, j),
                    pv: (household.pv_watts > 0.0).then_some(PvSystem {
                        peak_watts: household.pv_watts,
                        weather_seed: plan.seed ^ area as u64,
                    }),
                    household,
                    health: Health::draw(plan.seed, i, plan.first_day, last, plan.failing_share),
                    theft,
                    power_factor: 0.9 + 0.08 * u(5),
                    voltage_offset: (u(6) - 0.5) * 6.0,
                    // Registers start somewhere between 0 and 7,000 kWh.
                    registers: Registers([u(7) * 7e6, 0.0, u(7) * 4e6, 0.0, u(7) * 3e6, 0.0]),
                    events: [0; 6],
                }
            })
            .collect();
        let supply = (0..plan.areas)
            .map(|a| {
                let health = Health::draw(plan.seed ^ 0x5EED, a as u64, plan.first_day, last, 0.0);
                (Registers::default(), health)
            })
            .collect();
        Self {
            plan,
            customers,
            supply,
            tou: TouSchedule::default(),
        }
    }

    /// The registry rows and the failing meters' fault labels.
    pub fn registry(&self) -> (Vec<MeterRecord>, Vec<AreaRecord>, Vec<FaultLabel>) {
        let p = &self.plan;
        let installed = DateTime::<Utc>::from_timestamp(1_577_836_800, 0).unwrap_or_default();
        let mut meters = Vec::new();
        let mut areas = Vec::new();
        for area in 0..p.areas {
            let (area_id, feeder_id, bus_id) = area_ids(area);
            for j in 0..=p.customers_per_area {
                let customer = (j < p.customers_per_area)
                    .then(|| &self.customers[area * p.customers_per_area + j]);
                let id = meter_id(p, area, j);
                meters.push(MeterRecord {
                    meter_number: id.clone(),
                    customer_id: customer.map(|_| format!("C{id}")),
                    kind: if customer.is_some() {
                        MeterKind::Customer
                    } else {
                        MeterKind::Supply
                    },
                    area_id: area_id.clone(),
                    feeder_id: feeder_id.clone(),
                    bus_id: bus_id.clone(),
                    tariff_plan: customer.map(|_| p.tariff_plan.clone()),
                    household_size: customer.map(|c| c.household.persons),
                    has_pv: customer.is_some_and(|c| c.pv.is_some()),
                    installed_on: installed,
                    removed_on: None,
                    meter_id: id,
                });
            }
            areas.push(AreaRecord {
                area_id,
                feeder_id,
                supply_meter_id: Some(meter_id(p, area, p.customers_per_area)),
                customers: p.customers_per_area,
            });
        }
        let faults = self
            .customers
            .iter()
            .filter_map(|c| {
                let f = c.health.failing?;
                Some(FaultLabel {
                    meter_id: c.meter_id.clone(),
                    fault: Fault {
                        kind: f.kind,
                        start: self.utc(f.fails_on, 0),
                        end: self.utc(p.last_day() + TimeDelta::days(1), 0),
                        magnitude: 0.0,
                    },
                    detail: format!("failing=1;precursors_from={}", f.precursors_from),
                })
            })
            .collect();
        (meters, areas, faults)
    }

    /// Meters that fail.
    pub fn failing_count(&self) -> usize {
        self.customers
            .iter()
            .filter(|c| c.health.failing.is_some())
            .count()
    }

    /// Every thief's label.
    pub fn theft_labels(&self) -> Vec<TheftLabel> {
        self.customers
            .iter()
            .filter_map(|c| {
                Some(TheftLabel {
                    meter_id: c.meter_id.clone(),
                    theft: c.theft?,
                })
            })
            .collect()
    }

    /// `households.csv`: each customer meter's usage class, persons, PV and occupancy changes.
    pub fn households_csv(&self) -> String {
        let mut text = format!("{}\n", super::super::registry::HOUSEHOLDS_HEADER);
        let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        for c in &self.customers {
            let h = &c.household;
            let o = &h.occupancy;
            text.push_str(&format!(
                "{},{},{},{:.0},{},{},{},{},{}\n",
                c.meter_id,
                h.class,
                h.persons,
                h.pv_watts,
                day(o.vacant.map(|v| v.0)),
                day(o.vacant.map(|v| v.1)),
                day(o.moved_in),
                day(o.moved_out),
                o.travels
            ));
        }
        text
    }

    /// UTC µs of quarter-hour `slot` of local `day`.
    fn utc_us(&self, day: NaiveDate, slot: usize) -> i64 {
        self.utc(day, slot).timestamp_micros()
    }

    fn utc(&self, day: NaiveDate, slot: usize) -> DateTime<Utc> {
        let local = day.and_time(NaiveTime::MIN) + TimeDelta::minutes(15 * slot as i64);
        self.plan
            .zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// The readings of areas `areas` on local `day` (boundaries 00:00 … 23:45) and the event records
    /// written that day, advancing the registers.
    pub fn day_rows(
        &mut self,
        day: NaiveDate,
        areas: Range<usize>,
    ) -> Result<(RecordBatch, Vec<HistoryEvent>), arrow::error::ArrowError> {
        let plan = self.plan.clone();
        let day_key = u64::try_from(day.num_days_from_ce()).unwrap_or_default();
        let times: Vec<i64> = (0..SLOTS).map(|s| self.utc_us(day, s)).collect();
        let tou: Vec<usize> = (0..SLOTS)
            .map(|s| {
                self.tou
                    .register(day.and_time(NaiveTime::MIN) + TimeDelta::minutes(15 * s as i64))
            })
            .collect();
        let fleet_weather = 0.9 + 0.2 * unit_hash(plan.seed ^ WEATHER_SALT, day_key);
        let mut rows = WireRows::new();
        let mut events = Vec::new();
        for area in areas {
            let (_, _, bus) = area_ids(area);
            let weather =
                fleet_weather * (0.95 + 0.1 * unit_hash(plan.seed ^ area as u64, day_key));
            // An outage (power-down records on every meter of the area) on about 1 % of area-days.
            let outage = unit_hash(plan.seed ^ EVENT_SALT ^ area as u64, day_key) < 0.01;
            let mut area_wh = [0.0f64; SLOTS];
            let mut days = Vec::with_capacity(plan.customers_per_area);
            for j in 0..plan.customers_per_area {
                let c = &self.customers[area * plan.customers_per_area + j];
                let load = c.household.day_wh(day, weather);
                let mut net = load;
                if let Some(pv) = &c.pv {
                    for (s, w) in net.iter_mut().enumerate() {
                        let t =
                            day.and_time(NaiveTime::MIN) + TimeDelta::minutes(15 * s as i64 + 7);
                        *w -= pv.watts(t) / 4.0;
                    }
                }
                for (a, w) in area_wh.iter_mut().zip(net) {
                    *a += w;
                }
                days.push(net);
            }
            let area_peak = area_wh.iter().cloned().fold(1.0, f64::max);
            for (j, net) in days.into_iter().enumerate() {
                let index = area * plan.customers_per_area + j;
                let forward_truth = net.map(|w| w.max(0.0));
                let export = net.map(|w| (-w).max(0.0));
                let c = &mut self.customers[index];
                let mut registered = match &c.theft {
                    Some(t) => t.registered(day, &forward_truth),
                    None => RegisteredDay::honest(&forward_truth),
                };
                for (r, e) in registered.reverse.iter_mut().zip(export) {
                    *r += e;
                }
                let fault = c.health.fault_on(day);
                if fault == Some(FaultKind::StuckRegister) {
                    registered.forward = [0.0; SLOTS];
                    registered.reverse = [0.0; SLOTS];
                    registered.current_shows_truth = true;
                }
                let mut day_events =
                    customer_events(c, day, day_key, outage, plan.first_day, times[0]);
                events.append(&mut day_events);
                if fault == Some(FaultKind::CommDropout) {
                    advance(&mut c.registers, &registered, &tou);
                    continue;
                }
                let offset_us = (c.health.clock_offset_s(plan.first_day, day) * 1e6).round() as i64;
                let noise = c.health.voltage_noise(day);
                for s in 0..SLOTS {
                    let lost = unit_hash(c.household.seed ^ 0x1057, day_key * 96 + s as u64)
                        * 10_000.0
                        < f64::from(plan.lost_per_10k);
                    let v = voltage(
                        area_wh[s] / area_peak,
                        c.voltage_offset,
                        noise,
                        c.household.seed,
                        day_key * 96 + s as u64,
                    );
                    let shown_wh = registered.forward[s] - registered.reverse[s];
                    let current_wh = if registered.current_shows_truth {
                        net[s].abs()
                    } else {
                        shown_wh.abs()
                    };
                    let mut status1 = 0;
                    if c.health.battery_low(day, s) {
                        status1 |= 1 << 2;
                    }
                    if shown_wh < 0.0 {
                        status1 |= 1 << 4;
                    }
                    if !lost {
                        let energy = c.registers.centi_kwh();
                        rows.push(&WireRow {
                            meter: &c.meter_id,
                            bus: &bus,
                            collector: "history",
                            boundary_us: times[s],
                            read_us: times[s] + 350_000,
                            clock_us: Some(times[s] + 350_000 + offset_us),
                            energy,
                            electrical: [
                                v,
                                current_wh * 4.0 / v / c.power_factor,
                                shown_wh * 4.0 / 1000.0,
                                c.power_factor,
                                50.0,
                            ],
                            status: [status1, 0, 0, 0, 0, 0, 0],
                            money: [20_000 - (energy[0] % 10_000), 0],
                        });
                    }
                    add_slot(&mut c.registers, &registered, s, tou[s]);
                }
            }
            // The supply meter sees the customers plus 4 % line loss and a 300 W no-load loss.
            let supply_id = meter_id(&plan, area, plan.customers_per_area);
            let (registers, _) = &mut self.supply[area];
            for s in 0..SLOTS {
                let wh = (area_wh[s] * 1.04 + 75.0).max(0.0);
                let v = voltage(
                    area_wh[s] / area_peak,
                    0.0,
                    0.3,
                    area as u64,
                    day_key * 96 + s as u64,
                );
                let energy = registers.centi_kwh();
                rows.push(&WireRow {
                    meter: &supply_id,
                    bus: &bus,
                    collector: "history",
                    boundary_us: times[s],
                    read_us: times[s] + 350_000,
                    clock_us: Some(times[s]),
                    energy,
                    electrical: [v, wh * 4.0 / v / 0.95, wh * 4.0 / 1000.0, 0.95, 50.0],
                    status: [0; 7],
                    money: [0, 0],
                });
                let day = RegisteredDay::honest(&[wh; SLOTS]);
                add_slot(registers, &day, s, tou[s]);
            }
        }
        Ok((rows.finish()?, events))
    }
}

/// The event records customer `c` writes on `day`: power-downs (area outage, failing contacts), a cover
/// opened when a thief tampers with the meter (more often for bypass and rewiring), a programming record
/// when a thief alters the meter's data, and rare maintenance openings by honest staff.
fn customer_events(
    c: &mut Customer,
    day: NaiveDate,
    day_key: u64,
    outage: bool,
    first: NaiveDate,
    midnight_us: i64,
) -> Vec<HistoryEvent> {
    let u = |salt: u64| unit_hash(c.household.seed ^ EVENT_SALT, day_key * 8 + salt);
    let mut happened = Vec::new();
    for _ in 0..u32::from(outage) + c.health.power_downs(day) {
        happened.push((MeterEvent::PowerDown, 2 + happened.len() as i64));
    }
    if let Some(t) = c
        .theft
        .filter(|t| t.onset == day || (t.onset < first && day == first))
    {
        let (event, chance) = match t.kind {
            TheftKind::Bypass | TheftKind::ReverseWiring => (MeterEvent::TerminalCoverOpen, 0.5),
            TheftKind::Scale | TheftKind::RandomScale | TheftKind::DailyWindow => {
                (MeterEvent::CoverOpen, 0.3)
            }
            _ => (MeterEvent::Programming, 0.3),
        };
        if u(1) < chance {
            happened.push((event, 10));
        }
    }
    if u(2) < 0.0002 {
        happened.push((MeterEvent::CoverOpen, 11));
    }
    happened
        .into_iter()
        .map(|(event, hour)| {
            let slot = &mut c.events[event_index(event)];
            *slot += 1;
            HistoryEvent {
                meter_id: c.meter_id.clone(),
                event,
                sequence: *slot,
                at_us: midnight_us + hour * 3_600_000_000,
            }
        })
        .collect()
}

/// Adds quarter-hour `slot` of `day` to the registers (TOU register `tou`).
fn add_slot(r: &mut Registers, day: &RegisteredDay, slot: usize, tou: usize) {
    let forward = day.forward[slot];
    r.0[0] += forward;
    r.0[1 + tou.min(3)] += forward;
    r.0[5] += day.reverse[slot];
}

fn advance(r: &mut Registers, day: &RegisteredDay, tou: &[usize]) {
    for (slot, t) in tou.iter().enumerate() {
        add_slot(r, day, slot, *t);
    }
}

/// Supply voltage: 230 V at no load falling by up to 9 V at the area's peak, a meter's own offset and
/// noise of standard deviation about `noise`.
fn voltage(load_share: f64, offset: f64, noise: f64, seed: u64, key: u64) -> f64 {
    let n = (unit_hash(seed ^ 0x7017, key)
        + unit_hash(seed ^ 0x7018, key)
        + unit_hash(seed ^ 0x7019, key)
        - 1.5)
        * 2.0;
    230.0 - 9.0 * load_share.clamp(0.0, 1.0) + offset + n * noise
}

fn meter_id(plan: &HistoryPlan, area: usize, j: usize) -> String {
    format!(
        "{:012}",
        plan.address_prefix * 100_000_000 + (area * (plan.customers_per_area + 1) + j) as u64
    )
}

fn area_ids(area: usize) -> (String, String, String) {
    (
        format!("A{area:05}"),
        format!("F{:04}", area / 10),
        format!("bus-{area:05}"),
    )
}
