//! A real S3-compatible server for tests: moto, from the venv `scripts/test.sh` prepares.

#![allow(dead_code)] // each test crate uses part of it

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A tool of the test venv (`python`, `moto_server`, …).
pub fn python_bin(tool: &str) -> String {
    let python = std::env::var("METERLAKE_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/meterlake-venv/bin/python")
    });
    match tool {
        "python" => python,
        other => python.trim_end_matches("python").to_string() + other,
    }
}

/// A moto S3 server on a free port; stopped on drop.
pub struct Moto {
    child: Child,
    /// Its `http://` endpoint.
    pub endpoint: String,
}

impl Moto {
    /// Starts a server on a free port and waits until it listens.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(python_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto_server (prepared by scripts/test.sh): {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, endpoint }
    }

    /// Starts a server with `bucket` and points this process's AWS_* variables at it (for a test
    /// binary holding one test: setting the environment is race-free there).
    pub fn for_this_process(bucket: &str) -> Self {
        let moto = Self::start();
        moto.create_bucket(bucket);
        for (name, value) in moto.env() {
            std::env::set_var(name, value);
        }
        moto
    }

    /// Creates `bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        let status = Command::new(python_bin("python"))
            .arg("-c")
            .arg(format!(
                "import boto3; boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
                 aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='{bucket}')",
                self.endpoint
            ))
            .status()
            .expect("boto3");
        assert!(status.success(), "creating bucket {bucket}");
    }

    /// The AWS_* variables a client of this server needs.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
