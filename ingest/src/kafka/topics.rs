//! Topic names (`docs/contracts.md` §4).

/// The topics meterlake uses, with the configured prefix applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Reading batches, keyed by bus id.
    pub readings: String,
    /// Relay commands, keyed by collector id.
    pub commands: String,
    /// Command acknowledgements, keyed by collector id.
    pub acks: String,
}

impl Topics {
    /// Topic names with `prefix` prepended (empty for none).
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            readings: format!("{prefix}meterlake.readings.v1"),
            commands: format!("{prefix}meterlake.commands.v1"),
            acks: format!("{prefix}meterlake.acks.v1"),
        }
    }

    /// All topic names.
    pub fn all(&self) -> [&str; 3] {
        [&self.readings, &self.commands, &self.acks]
    }
}
