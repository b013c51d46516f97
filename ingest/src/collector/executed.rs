//! The acknowledgements of recently executed commands, kept in memory and in a journal file beside the
//! spool, so that a command Kafka delivers again (after a consumer restart, a rebalance or a collector
//! restart) is answered again but not executed again.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use crate::command::AckMessage;

/// How many executed (command, attempt) pairs a collector remembers.
pub(crate) const REMEMBERED_COMMANDS: usize = 10_000;

/// The journal's file name inside the spool directory.
pub const JOURNAL_FILE: &str = "executed-commands.jsonl";

/// Executed commands by (command id, attempt), oldest first.
#[derive(Debug, Default)]
pub(crate) struct ExecutedCommands {
    capacity: usize,
    order: VecDeque<(String, u32)>,
    acks: HashMap<(String, u32), AckMessage>,
    journal: Option<Journal>,
}

#[derive(Debug)]
struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl ExecutedCommands {
    /// Loads the journal at `path` (a torn or undecodable line, as a crash leaves, is skipped) and
    /// appends to it from now on. Without a usable file it remembers in memory only, and says so.
    pub(crate) fn open(path: PathBuf) -> Self {
        Self::with_capacity(path, REMEMBERED_COMMANDS)
    }

    /// Like [`ExecutedCommands::open`], remembering `capacity` executions.
    fn with_capacity(path: PathBuf, capacity: usize) -> Self {
        let mut executed = Self {
            capacity,
            ..Self::default()
        };
        let mut lines = 0;
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines().map_while(Result::ok) {
                lines += 1;
                match serde_json::from_str::<AckMessage>(&line) {
                    Ok(ack) => executed.insert(ack),
                    Err(err) => {
                        tracing::warn!(path = %path.display(), %err, "unreadable line in the executed-commands journal skipped")
                    }
                }
            }
        }
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => executed.journal = Some(Journal { path, file, lines }),
            Err(err) => tracing::error!(path = %path.display(), %err,
                "cannot open the executed-commands journal: redeliveries after a restart may execute again"),
        }
        executed
    }

    /// The acknowledgement of an executed (command, attempt), if it is remembered.
    pub(crate) fn get(&self, command_id: &str, attempt: u32) -> Option<AckMessage> {
        self.acks.get(&(command_id.to_string(), attempt)).cloned()
    }

    fn insert(&mut self, ack: AckMessage) {
        let key = (ack.command_id.clone(), ack.attempt);
        if self.acks.insert(key.clone(), ack).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.acks.remove(&old);
            }
        }
    }

    /// Remembers an execution, durably (the journal line is synced before this returns).
    pub(crate) fn remember(&mut self, ack: &AckMessage) {
        self.insert(ack.clone());
        let Some(journal) = &mut self.journal else {
            return;
        };
        let mut line = serde_json::to_vec(ack).unwrap_or_default();
        line.push(b'\n');
        if let Err(err) = journal
            .file
            .write_all(&line)
            .and_then(|()| journal.file.sync_data())
        {
            tracing::error!(path = %journal.path.display(), %err, "executed-commands journal write failed");
            return;
        }
        journal.lines += 1;
        if journal.lines > 2 * self.capacity {
            self.compact();
        }
    }

    /// Rewrites the journal with only the remembered executions (write aside, sync, rename).
    fn compact(&mut self) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let aside = journal.path.with_extension("jsonl.new");
        let written = (|| -> std::io::Result<File> {
            let mut file = File::create(&aside)?;
            for key in &self.order {
                if let Some(ack) = self.acks.get(key) {
                    let mut line = serde_json::to_vec(ack).unwrap_or_default();
                    line.push(b'\n');
                    file.write_all(&line)?;
                }
            }
            file.sync_all()?;
            std::fs::rename(&aside, &journal.path)?;
            OpenOptions::new().append(true).open(&journal.path)
        })();
        match written {
            Ok(file) => {
                journal.file = file;
                journal.lines = self.order.len();
            }
            Err(err) => {
                tracing::error!(path = %journal.path.display(), %err, "executed-commands journal compaction failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::AckOutcome;

    fn ack(id: usize) -> AckMessage {
        AckMessage {
            command_id: format!("c-{id}"),
            meter_id: "000000001001".into(),
            collector_id: "col-1".into(),
            outcome: AckOutcome::Executed,
            error: None,
            relay_open: Some(true),
            at: chrono::Utc::now(),
            attempt: 1,
        }
    }

    #[test]
    fn executions_survive_a_restart_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut executed = ExecutedCommands::open(path.clone());
        executed.remember(&ack(1));
        executed.remember(&ack(2));
        drop(executed);
        // A crash mid-write leaves half a line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"command_id\":\"c-3\",\"met").unwrap();
        let reopened = ExecutedCommands::open(path);
        let first = reopened.get("c-1", 1).unwrap();
        assert_eq!(
            (first.command_id.as_str(), first.relay_open),
            ("c-1", Some(true))
        );
        assert!(reopened.get("c-2", 1).is_some());
        assert!(
            reopened.get("c-2", 2).is_none(),
            "another attempt is another execution"
        );
        assert!(reopened.get("c-3", 1).is_none());
    }

    #[test]
    fn the_journal_is_compacted_to_what_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut executed = ExecutedCommands::with_capacity(path.clone(), 10);
        for id in 0..21 {
            executed.remember(&ack(id));
        }
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 10);
        assert!(executed.get("c-0", 1).is_none());
        assert!(ExecutedCommands::with_capacity(path, 10)
            .get("c-20", 1)
            .is_some());
    }
}
