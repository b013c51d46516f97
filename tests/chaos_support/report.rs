//! One row of the chaos table per fault: what the trials produced, lost, duplicated and how long the
//! system took to recover. Each row is printed, and appended as a JSON line to the file named by
//! `METERLAKE_CHAOS_REPORT` (the long-form script builds the table in `docs/reliability.md` from it).

use std::io::Write;
use std::time::Duration;

/// How many trials each fault gets: `METERLAKE_CHAOS_TRIALS`, default `short` (the CI form).
pub fn trials(short: usize) -> usize {
    std::env::var("METERLAKE_CHAOS_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(short)
}

/// How long a broker outage or a full disk lasts: `METERLAKE_CHAOS_OUTAGE_S`, default `default_s`,
/// at least `at_least_s` (what the fault needs to show in health).
pub fn outage(default_s: u64, at_least_s: u64) -> Duration {
    let seconds = std::env::var("METERLAKE_CHAOS_OUTAGE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_s);
    Duration::from_secs(seconds.max(at_least_s))
}

/// The seed of the trials' random choices: `METERLAKE_CHAOS_SEED`, default 645.
pub fn seed() -> u64 {
    std::env::var("METERLAKE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(645)
}

/// The outcome of one fault's trials.
#[derive(Debug, Default, serde::Serialize)]
pub struct FaultRow {
    /// The fault, as named in the table.
    pub fault: String,
    /// Trials run.
    pub trials: usize,
    /// Readings produced (distinct meter × boundary).
    pub readings: u64,
    /// Readings produced and missing from the lake.
    pub lost: u64,
    /// Readings in the lake more than once.
    pub duplicated: u64,
    /// Money (yuan) paid and missing from the ledger.
    pub money_lost: String,
    /// Money (yuan) booked more than once.
    pub money_doubled: String,
    /// Commands issued and never delivered or acknowledged.
    pub commands_lost: u64,
    /// Commands executed more than once.
    pub commands_doubled: u64,
    /// Trials whose fault showed in `/healthz` (and the matching metric) while it lasted.
    pub seen_in_health: usize,
    /// Trials whose fault stops work (the others need not show in `/healthz`).
    pub stopping: usize,
    /// Time from the end of the fault to everything caught up, per trial (seconds).
    #[serde(skip)]
    pub recovery: Vec<Duration>,
    /// Median of `recovery`, seconds.
    pub recovery_median_s: f64,
    /// Longest of `recovery`, seconds.
    pub recovery_max_s: f64,
    /// True when a trial failed before the row was finished (`trials` counts those that passed).
    pub failed: bool,
    #[serde(skip)]
    finished: bool,
}

impl FaultRow {
    fn record(&mut self) {
        let mut sorted = self.recovery.clone();
        sorted.sort();
        self.recovery_median_s = sorted
            .get(sorted.len() / 2)
            .map_or(0.0, Duration::as_secs_f64);
        self.recovery_max_s = sorted.last().map_or(0.0, Duration::as_secs_f64);
        eprintln!(
            "chaos | {} | {} trials{} | {} readings | lost {} | duplicated {} | money lost {} doubled {} | \
             commands lost {} doubled {} | seen in /healthz {}/{} | recovery median {:.1} s, max {:.1} s",
            self.fault,
            self.trials,
            if self.failed { " then a FAILED one" } else { "" },
            self.readings,
            self.lost,
            self.duplicated,
            self.money_lost,
            self.money_doubled,
            self.commands_lost,
            self.commands_doubled,
            self.seen_in_health,
            self.stopping,
            self.recovery_median_s,
            self.recovery_max_s
        );
        if let Ok(path) = std::env::var("METERLAKE_CHAOS_REPORT") {
            let line = serde_json::to_string(&self).expect("row as JSON");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("opening {path}: {e}"));
            writeln!(file, "{line}").expect("writing the chaos report");
        }
    }

    /// An empty row for `fault` (no money or commands involved until set).
    pub fn new(fault: &str) -> Self {
        let mut row = Self::default();
        row.fault = fault.to_string();
        row.money_lost = "0".into();
        row.money_doubled = "0".into();
        row
    }

    /// Adds a settled trial: the readings produced so far, and of them lost and duplicated.
    pub fn settled(&mut self, readings: u64, lost: u64, duplicated: u64) {
        self.trials += 1;
        self.readings = readings;
        self.lost = lost;
        self.duplicated = duplicated;
    }

    /// Watches a fault that stops work: counts it, and asks `shows` every 200 ms for at least `hold`
    /// (the fault is kept on that long) and longer, up to `limit`, until it has shown once (a loaded
    /// machine may answer a poll late); counts it seen if it did.
    pub async fn watch<F, Fut>(&mut self, hold: Duration, limit: Duration, mut shows: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.stopping += 1;
        let start = std::time::Instant::now();
        let mut seen = false;
        // Asked at least once, even when the trial's own steps used up the hold.
        loop {
            seen = seen || shows().await;
            if start.elapsed() >= hold && (seen || start.elapsed() >= limit) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.seen_in_health += usize::from(seen);
    }

    /// Counts a process killed with SIGKILL as a fault that stops work, seen when the process `pid`
    /// is gone (its `/healthz` no longer answers: what a scraper sees as `up == 0`).
    pub fn killed(&mut self, pid: u32) {
        self.stopping += 1;
        if std::fs::metadata(format!("/proc/{pid}")).is_err() {
            self.seen_in_health += 1;
        }
    }

    /// Adds one trial's recovery time.
    pub fn recovered_in(&mut self, took: Duration) {
        self.recovery.push(took);
        // A long run's progress, one line a trial.
        eprintln!(
            "chaos trial {} of {:?}: recovered in {:.1} s",
            self.recovery.len(),
            self.fault,
            took.as_secs_f64()
        );
    }

    /// Prints the row, appends it to the report file, and checks the goal: nothing lost or doubled,
    /// and every stopping fault seen in `/healthz`.
    pub fn finish(mut self) {
        self.finished = true;
        self.record();
        assert_eq!((self.lost, self.duplicated), (0, 0), "{}", self.fault);
        assert_eq!(
            (self.money_lost.as_str(), self.money_doubled.as_str()),
            ("0", "0"),
            "{}",
            self.fault
        );
        assert_eq!(
            (self.commands_lost, self.commands_doubled),
            (0, 0),
            "{}",
            self.fault
        );
        assert_eq!(
            self.seen_in_health, self.stopping,
            "{}: a fault that stopped work was not visible in /healthz",
            self.fault
        );
    }
}

impl Drop for FaultRow {
    /// A trial that failed (panicked) still leaves its row: the trials that passed, marked failed.
    fn drop(&mut self) {
        if !self.finished && std::thread::panicking() {
            self.failed = true;
            self.finished = true;
            self.record();
        }
    }
}
