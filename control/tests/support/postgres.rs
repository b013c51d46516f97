//! A real PostgreSQL server for tests: initialised in a temporary directory, listening on a free
//! loopback port, started once per test process and killed when the process exits. Tests that need it
//! fail (they never skip) when the server binaries are missing; `scripts/test.sh` installs Debian's
//! `postgresql` package.
// Each test file (and a benchmark) uses its own part.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running server.
pub struct PgServer {
    /// Loopback port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The server binaries: `$METERLAKE_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("METERLAKE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e})"))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

/// The uid and gid of the `postgres` account (PostgreSQL refuses to run as root).
pub fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "no `postgres` account (install Debian's postgresql package)".to_string())
    };
    Ok((id("-u")?, id("-g")?))
}

/// A command that runs as `ids` (when the tests run as root) and is killed with the test process.
fn as_server_user(program: &Path, ids: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = ids {
                if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // After the uid change (which clears it): die with the thread that started us.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
}

fn chown_tree(path: &Path, (uid, gid): (u32, u32)) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
            chown_tree(&entry.map_err(|e| e.to_string())?.path(), (uid, gid))?;
        }
    }
    Ok(())
}

fn start() -> Result<PgServer, String> {
    let bin = bin_dir()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ids = if unsafe { libc::geteuid() } == 0 {
        let ids = postgres_ids()?;
        chown_tree(dir.path(), ids)?;
        Some(ids)
    } else {
        None
    };
    let data = dir.path().join("data");
    let init = as_server_user(&bin.join("initdb"), ids)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut server = as_server_user(&bin.join("postgres"), ids);
    server
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(dir.path())
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let (sender, receiver) = std::sync::mpsc::channel();
    // The server dies with this thread (PR_SET_PDEATHSIG), which lives as long as the server does.
    std::thread::spawn(move || match server.spawn() {
        Ok(mut child) => {
            let _ = sender.send(Ok(()));
            let _ = child.wait();
        }
        Err(err) => {
            let _ = sender.send(Err(format!("starting postgres: {err}")));
        }
    });
    receiver.recv().map_err(|e| e.to_string())??;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("postgres did not accept connections within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(PgServer { port, _dir: dir })
}

/// The shared server, started on first use. Panics (the test fails) when it cannot start.
pub fn server() -> &'static PgServer {
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(err) => panic!(
            "PostgreSQL test server unavailable: {err}. Install Debian's postgresql package \
             (bash scripts/test.sh does), or point METERLAKE_PG_BIN at its bin directory."
        ),
    }
}

/// A new, empty database on the shared server; returns its URL.
pub async fn fresh_database() -> String {
    let pool = admin().await;
    let url = create_database(&pool, "").await;
    pool.close().await;
    url
}

/// A new, empty database whose files live in `location` (a new tablespace there; the directory
/// must be empty); returns its URL.
pub async fn fresh_database_in(location: &Path) -> String {
    if let Ok(ids) = postgres_ids() {
        chown_tree(location, ids).expect("the tablespace directory for the server's account");
    }
    let space = format!("s_{}", uuid::Uuid::new_v4().simple());
    let pool = admin().await;
    let create = format!(
        "CREATE TABLESPACE {space} LOCATION '{}'",
        location.display()
    );
    sqlx::query(&create)
        .execute(&pool)
        .await
        .expect("CREATE TABLESPACE");
    let url = create_database(&pool, &format!(" TABLESPACE {space}")).await;
    pool.close().await;
    url
}

/// A connection pool to the server's `postgres` database.
async fn admin() -> sqlx::PgPool {
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server().port);
    let mut last = String::new();
    for _ in 0..50 {
        match sqlx::postgres::PgPool::connect(&admin).await {
            Ok(pool) => return pool,
            Err(err) => {
                // The server accepts TCP before it finishes starting up.
                last = err.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("cannot connect to the PostgreSQL test server: {last}");
}

async fn create_database(admin: &sqlx::PgPool, options: &str) -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}{options}"))
        .execute(admin)
        .await
        .expect("CREATE DATABASE");
    format!("postgres://postgres@127.0.0.1:{}/{name}", server().port)
}
