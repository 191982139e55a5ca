//! The pieces of a cluster for the tests: `cloudbutton worker` processes
//! whose logs are kept, drivers pointed at them by environment variables
//! only, and Redis servers of a test's own that it can restart.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The Redis server that `scripts/test.sh` started.
pub fn redis_url() -> String {
    std::env::var("CLOUDBUTTON_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or start \
             a server first with `eval \"$(scripts/redis-test-server.sh start)\"`"
        )
    })
}

/// A namespace that no other test uses.
fn fresh_namespace() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        "test-{}-{millis}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process whose standard output and error are kept as they are
/// written.
pub struct Logged {
    child: Child,
    out: Arc<Mutex<String>>,
    log: Arc<Mutex<String>>,
    what: String,
}

/// Appends every line `from` gives to `to`.
fn keep(from: impl std::io::Read + Send + 'static, to: &Arc<Mutex<String>>) {
    let sink = to.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let mut kept = sink.lock().unwrap();
            kept.push_str(&line);
            kept.push('\n');
        }
    });
}

impl Logged {
    /// Starts `command`, keeping what it prints.
    pub fn spawn(mut command: Command, what: impl Into<String>) -> Logged {
        let what = what.into();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        let (out, log) = (Arc::default(), Arc::default());
        keep(child.stdout.take().unwrap(), &out);
        keep(child.stderr.take().unwrap(), &log);
        Logged {
            child,
            out,
            log,
            what,
        }
    }

    /// Everything it wrote to standard output so far.
    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Everything it wrote to standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until its log holds `needle`; fails the test after `timeout`
    /// or if the process exits first.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader take in the last lines.
                std::thread::sleep(Duration::from_millis(100));
                if self.log().contains(needle) {
                    return;
                }
                panic!(
                    "{} exited ({status}) before logging `{needle}`:\n{}",
                    self.what,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not log `{needle}` within {timeout:?}:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends it SIGTERM, as Kubernetes does to a pod it scales away.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "cannot signal {}", self.what);
    }

    /// Kills it with SIGKILL, as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for it to exit; fails the test after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "{} did not exit within {timeout:?}:\n{}",
                    self.what,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Workers and drivers that share one namespace of one Redis server and
/// one shared storage directory.
pub struct Cluster {
    pub redis: String,
    pub namespace: String,
    shared: TempDir,
    pub workers: Vec<Logged>,
}

impl Cluster {
    /// A cluster on the Redis server at `redis`, with no worker yet.
    pub fn new(redis: &str) -> Cluster {
        Cluster {
            redis: redis.to_owned(),
            namespace: fresh_namespace(),
            shared: tempfile::Builder::new()
                .prefix("cluster-shared")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap(),
            workers: Vec::new(),
        }
    }

    /// The storage the drivers and workers share.
    pub fn shared(&self) -> &Path {
        self.shared.path()
    }

    /// `cloudbutton worker` for this cluster, with `args` added; not
    /// started.
    pub fn worker_command(&self, args: &[&str]) -> Command {
        self.worker_command_on(self.shared(), args)
    }

    /// The same, with another shared storage.
    pub fn worker_command_on(&self, storage: &Path, args: &[&str]) -> Command {
        let name = format!("w{}", self.workers.len() + 1);
        let mut command = Command::new(env!("CARGO_BIN_EXE_cloudbutton"));
        command
            .args(["worker", "-v", "--redis", &self.redis, "--name", &name])
            .arg("--storage")
            .arg(storage)
            .arg("--cache-dir")
            .arg(program_cache())
            .args(args)
            .env("CLOUDBUTTON_NAMESPACE", &self.namespace)
            .env_remove("CLOUDBUTTON_CONFIG");
        command
    }

    /// Starts a worker with `args` added, and waits until it is ready.
    pub fn start_worker(&mut self, args: &[&str]) -> &mut Logged {
        let command = self.worker_command(args);
        let what = format!("worker {}", self.workers.len() + 1);
        let mut worker = Logged::spawn(command, what);
        worker.wait_for("worker ready", Duration::from_secs(30));
        self.workers.push(worker);
        self.workers.last_mut().unwrap()
    }

    /// The example `name` as a driver of this cluster.
    pub fn driver(&self, name: &str) -> Command {
        self.as_driver(Command::new(crate::support::example(name)))
    }

    /// The `cloudbutton` command as a driver of this cluster.
    pub fn cli(&self) -> Command {
        self.as_driver(Command::new(env!("CARGO_BIN_EXE_cloudbutton")))
    }

    /// Points `command` at this cluster.
    fn as_driver(&self, mut command: Command) -> Command {
        command
            .env("CLOUDBUTTON_BACKEND", "redis")
            .env("CLOUDBUTTON_REDIS_URL", &self.redis)
            .env("CLOUDBUTTON_STORAGE", self.shared())
            .env("CLOUDBUTTON_NAMESPACE", &self.namespace)
            .env("CLOUDBUTTON_PROGRESS", "never")
            .env_remove("CLOUDBUTTON_CONFIG");
        command
    }

    /// The names of the keys of this cluster's jobs now in Redis.
    pub fn job_keys(&self) -> Vec<String> {
        let output = crate::support::run(Command::new("redis-cli").args([
            "-u",
            &self.redis,
            "--scan",
            "--pattern",
            &format!("{}:job:*", self.namespace),
        ]));
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Where workers keep downloaded programs; shared by every test, since
/// programs are named by their content.
fn program_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster-programs")
}

/// A `redis-server` of a test's own, on a free loopback port, which the
/// test can restart.
pub struct RedisServer {
    pub port: u16,
    dir: TempDir,
    persistent: bool,
    /// With TLS: the password clients must give.
    tls_password: Option<String>,
    process: Option<Child>,
}

/// A free port on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian: apt-get install openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl RedisServer {
    /// Starts a server; with `persistent`, every write goes to an
    /// append-only file before it is acknowledged.
    pub fn start(persistent: bool) -> RedisServer {
        let mut server = RedisServer::new(persistent, None);
        server.launch();
        server
    }

    /// Starts a server that takes only TLS connections, with a certificate
    /// for 127.0.0.1 signed by a CA of its own ([`ca`](Self::ca)), and
    /// requires `password`.
    pub fn start_tls(password: &str) -> RedisServer {
        let mut server = RedisServer::new(false, Some(password.to_owned()));
        let dir = server.dir.path();
        openssl(
            dir,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ]
            .iter()
            .copied()
            .chain([
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=cloudbutton test CA",
            ])
            .collect::<Vec<_>>(),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
            ]
            .iter()
            .copied()
            .chain(["-out", "server.csr", "-subj", "/CN=127.0.0.1"])
            .collect::<Vec<_>>(),
        );
        std::fs::write(dir.join("san.ext"), "subjectAltName = IP:127.0.0.1\n").unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
            ]
            .iter()
            .copied()
            .chain([
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ])
            .collect::<Vec<_>>(),
        );
        server.launch();
        server
    }

    fn new(persistent: bool, tls_password: Option<String>) -> RedisServer {
        RedisServer {
            port: free_port(),
            dir: tempfile::Builder::new()
                .prefix("redis")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap(),
            persistent,
            tls_password,
            process: None,
        }
    }

    /// The URL clients use: `redis://`, or `rediss://` with the password.
    pub fn url(&self) -> String {
        match &self.tls_password {
            Some(password) => format!("rediss://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The certificate of the CA that signed a TLS server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", ""])
            .stdout(Stdio::null());
        match &self.tls_password {
            Some(password) => {
                command
                    .args([
                        "--port",
                        "0",
                        "--tls-port",
                        &port,
                        "--tls-auth-clients",
                        "no",
                    ])
                    .args([
                        "--tls-cert-file",
                        "server.crt",
                        "--tls-key-file",
                        "server.key",
                    ])
                    .args(["--tls-ca-cert-file", "ca.crt", "--requirepass", password])
                    .current_dir(self.dir.path());
            }
            None => {
                command.args(["--port", &port]);
            }
        }
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        }
        self.process = Some(command.spawn().expect("redis-server runs"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string()]);
        if let Some(password) = &self.tls_password {
            command
                .args(["--tls", "--cacert"])
                .arg(self.ca())
                .env("REDISCLI_AUTH", password);
        }
        command
            .arg("ping")
            .output()
            .is_ok_and(|output| output.stdout.starts_with(b"PONG"))
    }

    /// Stops the server as `redis-cli shutdown` does, and starts it again
    /// on the same port and directory after `pause`.
    pub fn restart(&mut self, pause: Duration) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown"])
            .output();
        if let Some(mut process) = self.process.take() {
            let _ = process.wait();
        }
        std::thread::sleep(pause);
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
