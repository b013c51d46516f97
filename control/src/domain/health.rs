//! What is going wrong in the control service now, as its `/healthz` and metrics name it.

/// Something that stops the service's work while it lasts (`/healthz` answers 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceFault {
    /// Kafka refuses the relay's commands, or its producer reaches no broker: commands do not reach
    /// the meters.
    KafkaUnreachable,
    /// The accounts database cannot be read.
    DatabaseUnavailable,
    /// The accounts database can be read but refuses writes (a full disk): payments are refused.
    DatabaseRefusingWrites,
    /// A background loop ended on an error and waits to start again.
    LoopRestarting,
}

/// What the service observed of its parts, for [`ServiceFault::current`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Kafka refused the outbox relay's last send, or the relay's producer reaches no broker.
    pub kafka_refusing: bool,
    /// The database answered a read.
    pub database_readable: bool,
    /// The database took a write.
    pub database_writable: bool,
    /// Every supervised loop is running.
    pub loops_running: bool,
}

impl ServiceFault {
    /// What is wrong now. A database that cannot be read is not also reported as refusing writes.
    pub fn current(observed: Observed) -> Vec<Self> {
        let mut faults = Vec::new();
        if observed.kafka_refusing {
            faults.push(Self::KafkaUnreachable);
        }
        if !observed.database_readable {
            faults.push(Self::DatabaseUnavailable);
        } else if !observed.database_writable {
            faults.push(Self::DatabaseRefusingWrites);
        }
        if !observed.loops_running {
            faults.push(Self::LoopRestarting);
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WELL: Observed = Observed {
        kafka_refusing: false,
        database_readable: true,
        database_writable: true,
        loops_running: true,
    };

    #[test]
    fn each_observation_names_its_fault() {
        assert!(ServiceFault::current(WELL).is_empty());
        let full_disk = Observed {
            database_writable: false,
            ..WELL
        };
        assert_eq!(
            ServiceFault::current(full_disk),
            [ServiceFault::DatabaseRefusingWrites]
        );
        let gone = Observed {
            kafka_refusing: true,
            database_readable: false,
            database_writable: false,
            loops_running: false,
        };
        assert_eq!(
            serde_json::to_value(ServiceFault::current(gone)).unwrap(),
            serde_json::json!([
                "kafka_unreachable",
                "database_unavailable",
                "loop_restarting"
            ])
        );
    }
}
