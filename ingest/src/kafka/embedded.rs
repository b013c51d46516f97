//! The embedded Kafka-protocol broker: librdkafka's mock cluster on loopback TCP.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::Topics;

/// An in-process Kafka cluster speaking the real protocol; lives as long as this value.
pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedKafka {
    /// Starts a cluster with `brokers` brokers and creates the topics with `partitions` partitions.
    pub fn start(
        brokers: i32,
        topics: &Topics,
        partitions: i32,
    ) -> rdkafka::error::KafkaResult<Self> {
        let cluster = MockCluster::new(brokers)?;
        for topic in topics.all() {
            cluster.create_topic(topic, partitions, 1)?;
        }
        Ok(Self { cluster })
    }

    /// The bootstrap servers to give clients.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}

/// Held while a mock broker's listener is replaced, and by [`EmbeddedKafka::hold_sockets`].
static LISTENER_SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl EmbeddedKafka {
    /// Takes broker `id` (1-based) down or brings it back: an outage for tests and demos.
    ///
    /// Taking a broker down closes its listening socket and binds its port again at once (clients
    /// reconnect to the same address). A child process being started at that moment holds a copy of
    /// the socket until it executes its program, and the bind fails — an abort inside librdkafka. A
    /// process that starts children while brokers go down must start them under
    /// [`EmbeddedKafka::hold_sockets`].
    pub fn set_broker_up(&self, id: i32, up: bool) -> rdkafka::error::KafkaResult<()> {
        let _swap = Self::hold_sockets();
        if up {
            self.cluster.broker_up(id)
        } else {
            self.cluster.broker_down(id)
        }
    }

    /// Keeps every embedded broker's listener in place while held (see
    /// [`EmbeddedKafka::set_broker_up`]); [`EmbeddedKafka::spawn_child`] holds it.
    pub fn hold_sockets() -> std::sync::MutexGuard<'static, ()> {
        LISTENER_SWAP
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts `command` from a process that embeds brokers, so that their outages stay real.
    ///
    /// The mock brokers accept connections without close-on-exec: a child started while a client of
    /// any broker in this process is connected would inherit that connection, and taking the broker
    /// down would then leave it open (the client waits for answers instead of seeing the outage). The
    /// child marks every inherited descriptor above stderr close-on-exec before it executes its
    /// program, under [`EmbeddedKafka::hold_sockets`].
    pub fn spawn_child(
        command: &mut std::process::Command,
    ) -> std::io::Result<std::process::Child> {
        use std::os::unix::process::CommandExt;
        // SAFETY: the hook runs in the forked child before exec; it makes only system calls, which
        // are async-signal-safe, and touches no memory of the parent.
        unsafe {
            command.pre_exec(close_inherited_descriptors_on_exec);
        }
        let _swap = Self::hold_sockets();
        command.spawn()
    }
}

/// Marks every descriptor above stderr close-on-exec (run between fork and exec).
fn close_inherited_descriptors_on_exec() -> std::io::Result<()> {
    const FIRST: libc::c_uint = 3;
    // SAFETY: close_range only changes descriptor flags of this (child) process.
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            FIRST,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if marked == 0 {
        return Ok(());
    }
    // Kernels before 5.11: one descriptor at a time, up to the descriptor limit.
    // SAFETY: sysconf and fcntl only read limits and change descriptor flags.
    let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(64, 65_536) as libc::c_int;
    for fd in FIRST as libc::c_int..limit {
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A shell that prints whether descriptor `fd` is open in it.
    fn probe(fd: i32) -> std::process::Command {
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "test -e /proc/self/fd/{fd} && echo inherited || echo closed"
            ))
            .stdout(std::process::Stdio::piped());
        command
    }

    fn answer(child: std::process::Child) -> String {
        let output = child.wait_with_output().expect("wait");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    #[test]
    fn a_child_inherits_no_descriptor_of_the_parent() {
        // A socket without close-on-exec, like the mock broker's accepted connections.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let fd = listener.as_raw_fd();
        // SAFETY: clears a flag on a descriptor this test owns.
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }, 0);
        let plain = probe(fd).spawn().expect("spawn");
        assert_eq!(answer(plain), "inherited", "the probe must see a leak");
        let guarded = EmbeddedKafka::spawn_child(&mut probe(fd)).expect("spawn");
        assert_eq!(answer(guarded), "closed");
        // A program that cannot be started is still reported.
        let missing = EmbeddedKafka::spawn_child(&mut std::process::Command::new("/nonexistent"));
        assert!(missing.is_err());
    }
}
