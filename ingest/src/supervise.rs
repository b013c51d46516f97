//! Supervised background loops: a loop that fails is logged, counted and restarted with backoff, and
//! each loop's state and last success are there for `/healthz`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where a loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopState {
    /// Running.
    Running,
    /// Failed; waiting to restart.
    Restarting,
    /// Finished (shutdown).
    Stopped,
}

/// One loop's health.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoopHealth {
    /// Name.
    pub name: String,
    /// State.
    pub state: LoopState,
    /// The last time it reported progress.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error, while restarting or since.
    pub last_error: Option<String>,
    /// Restarts so far.
    pub restarts: u64,
}

/// The loops of one process.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    loops: Arc<Mutex<BTreeMap<String, LoopHealth>>>,
}

/// Handed to a loop so it can report progress.
#[derive(Debug, Clone)]
pub struct LoopHandle {
    name: String,
    loops: Arc<Mutex<BTreeMap<String, LoopHealth>>>,
}

impl LoopHandle {
    /// Records progress (a message handled, a pass finished): the loop is healthy now.
    pub fn success(&self) {
        self.update(|health| {
            health.state = LoopState::Running;
            health.last_success = Some(Utc::now());
        });
    }

    fn update(&self, f: impl FnOnce(&mut LoopHealth)) {
        let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(health) = loops.get_mut(&self.name) {
            f(health);
        }
    }
}

/// Longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Supervisor {
    /// An empty supervisor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `make(handle)` until `shutdown` turns true. When the loop returns an error it is logged,
    /// `meterlake_loop_restarts_total{loop}` counts it, and it starts again after a backoff that
    /// doubles up to 30 s (and starts over once the loop reports success). A loop that returns `Ok`
    /// before shutdown is restarted too: these loops are meant to run for the life of the process.
    pub fn spawn<F, Fut, E>(
        &self,
        name: &str,
        mut shutdown: watch::Receiver<bool>,
        mut make: F,
    ) -> JoinHandle<()>
    where
        F: FnMut(LoopHandle) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: std::fmt::Display + Send,
    {
        let handle = LoopHandle {
            name: name.to_string(),
            loops: self.loops.clone(),
        };
        {
            let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
            loops.insert(
                name.to_string(),
                LoopHealth {
                    name: name.to_string(),
                    state: LoopState::Running,
                    last_success: None,
                    last_error: None,
                    restarts: 0,
                },
            );
        }
        let name = name.to_string();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                if *shutdown.borrow() {
                    break;
                }
                let before = Self::last_success(&handle);
                let result = make(handle.clone()).await;
                if *shutdown.borrow() {
                    break;
                }
                let error = match result {
                    Ok(()) => "returned before shutdown".to_string(),
                    Err(err) => err.to_string(),
                };
                if Self::last_success(&handle) != before {
                    backoff = Duration::from_millis(200);
                }
                tracing::error!(r#loop = %name, %error, retry_in = ?backoff, "background loop failed; restarting");
                metrics::counter!("meterlake_loop_restarts_total", "loop" => name.clone())
                    .increment(1);
                handle.update(|health| {
                    health.state = LoopState::Restarting;
                    health.last_error = Some(error);
                    health.restarts += 1;
                });
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                handle.update(|health| health.state = LoopState::Running);
            }
            handle.update(|health| health.state = LoopState::Stopped);
        })
    }

    fn last_success(handle: &LoopHandle) -> Option<DateTime<Utc>> {
        let loops = handle.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.get(&handle.name).and_then(|h| h.last_success)
    }

    /// Every loop's health, by name.
    pub fn health(&self) -> Vec<LoopHealth> {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.values().cloned().collect()
    }

    /// Whether every loop is running (or stopped at shutdown).
    pub fn healthy(&self) -> bool {
        self.health()
            .iter()
            .all(|h| h.state != LoopState::Restarting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_failing_loop_is_restarted_counted_and_reported() {
        let supervisor = Supervisor::new();
        let (stop, shutdown) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let own_shutdown = shutdown.clone();
        let task = supervisor.spawn("flaky", shutdown, move |handle| {
            let counter = counter.clone();
            let mut own_shutdown = own_shutdown.clone();
            async move {
                let run = counter.fetch_add(1, Ordering::SeqCst);
                if run < 2 {
                    return Err(format!("broker down (run {run})"));
                }
                handle.success();
                let _ = own_shutdown.changed().await;
                Ok::<(), String>(())
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the loop was not restarted"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let health = &supervisor.health()[0];
        assert_eq!(health.restarts, 2);
        assert_eq!(health.state, LoopState::Running);
        assert!(health.last_success.is_some());
        assert!(health.last_error.as_deref().unwrap().contains("run 1"));
        assert!(supervisor.healthy());
        stop.send(true).unwrap();
        task.await.unwrap();
        assert_eq!(supervisor.health()[0].state, LoopState::Stopped);
    }
}
