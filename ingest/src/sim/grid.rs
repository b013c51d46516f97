//! The grid above the meters: transformer areas (台区) grouped into feeders, and the physics of an area's
//! supply (total) meter.
//!
//! **Line-loss model.** The supply meter measures `P + L(P)` where `P` is the sum of the customers' physical
//! net power (what flows through their premises, including energy a faulty or tampered meter does not
//! register) and `L(P) = |P| · (a + (b − a) · min(|P| / R, 1))`: a fixed share `a` (no-load / metering
//! loss) plus a share growing linearly with load, so the loss grows with `P²` (copper loss) and stays within
//! `a`..`b` of the flow (default 2–8 %). `R` is the area's rated load, `rated_watts_per_customer` × customers.

use chrono::{DateTime, Utc};

use super::Site;

/// How meters are grouped into areas and feeders, and the supply meters' loss model.
#[derive(Debug, Clone, PartialEq)]
pub struct GridConfig {
    /// Customer meters per transformer area.
    pub meters_per_area: usize,
    /// Areas per feeder.
    pub areas_per_feeder: usize,
    /// Whether every area gets a supply meter (on its own bus).
    pub supply_meters: bool,
    /// Address number of the first area's supply meter; the others follow.
    pub first_supply_number: u64,
    /// Loss share at no load (`a`).
    pub min_loss: f64,
    /// Loss share at or above rated load (`b`).
    pub max_loss: f64,
    /// Rated load per customer, W (`R` = this × customers).
    pub rated_watts_per_customer: f64,
}

impl Default for GridConfig {
    fn default() -> Self {
        Self {
            meters_per_area: 100,
            areas_per_feeder: 4,
            supply_meters: true,
            first_supply_number: 990_000_000_001,
            min_loss: 0.02,
            max_loss: 0.08,
            rated_watts_per_customer: 1500.0,
        }
    }
}

/// What an area's supply meter sees: its customers' sites and the loss model.
#[derive(Debug, Clone)]
pub struct AreaFeed {
    customers: Vec<Site>,
    rated_watts: f64,
    min_loss: f64,
    max_loss: f64,
}

impl AreaFeed {
    /// The feed of an area with these customers.
    pub fn new(customers: Vec<Site>, grid: &GridConfig) -> Self {
        let rated = grid.rated_watts_per_customer * customers.len().max(1) as f64;
        Self {
            customers,
            rated_watts: rated.max(1.0),
            min_loss: grid.min_loss,
            max_loss: grid.max_loss.max(grid.min_loss),
        }
    }

    /// Sum of the customers' physical net power at `t`, W.
    pub fn customers_watts(&self, t: DateTime<Utc>) -> f64 {
        self.customers.iter().map(|s| s.net_watts(t)).sum()
    }

    /// Technical loss at a flow of `p` W (always ≥ 0).
    pub fn loss_watts(&self, p: f64) -> f64 {
        let flow = p.abs();
        let load = (flow / self.rated_watts).min(1.0);
        flow * (self.min_loss + (self.max_loss - self.min_loss) * load)
    }

    /// What the supply meter measures at `t`: customers plus loss, W (negative: the area exports).
    pub fn supply_watts(&self, t: DateTime<Utc>) -> f64 {
        let p = self.customers_watts(t);
        p + self.loss_watts(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::LoadProfile;

    #[test]
    fn loss_grows_with_load_squared_within_bounds() {
        let site = |w: f64| {
            Site::new(
                LoadProfile::Constant { watts: w },
                None,
                Vec::new().into(),
                chrono_tz::Asia::Shanghai,
            )
        };
        let feed = AreaFeed::new(vec![site(500.0), site(1000.0)], &GridConfig::default());
        let t = "2026-10-01T00:00:00Z".parse().unwrap();
        assert_eq!(feed.customers_watts(t), 1500.0);
        // R = 3000 W: 1500 W is half load, share 0.02 + 0.06 × 0.5 = 5 %.
        assert!((feed.supply_watts(t) - 1575.0).abs() < 1e-9);
        assert_eq!(feed.loss_watts(0.0), 0.0);
        assert!((feed.loss_watts(30.0) / 30.0 - 0.0206).abs() < 1e-9);
        assert!((feed.loss_watts(9000.0) / 9000.0 - 0.08).abs() < 1e-9);
        assert!((feed.loss_watts(-1500.0) - 75.0).abs() < 1e-9);
    }
}
