//! A throw-away PostgreSQL server for the tests, started by the tests themselves: `initdb`
//! into a temporary directory, `pg_ctl start` on a Unix socket there and a free localhost
//! port, one fresh database per `Env`. A watchdog process stops the server and removes the
//! directory when the test process exits. When the server binaries are missing the tests
//! that need them say so (and fail when `PROVTRACK_TEST_POSTGRES=1` asked for them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether the suite runs on PostgreSQL (`PROVTRACK_TEST_POSTGRES=1`).
pub fn enabled() -> bool {
    std::env::var("PROVTRACK_TEST_POSTGRES").is_ok_and(|v| v == "1")
}

/// The test server.
pub struct Server {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// Its data and socket directory.
    pub dir: PathBuf,
}

/// The role with a password (scram-sha-256), for the authentication tests.
pub const PASSWORD_USER: &str = "pt_secret_user";
/// Its password.
pub const PASSWORD: &str = "right-horse-battery";

fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a server binary, as the `postgres` user when we are root (initdb refuses root).
fn run_as_server_user(bin: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run a PostgreSQL binary")
}

/// The server, started on first use; `None` when PostgreSQL is not installed.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER.get_or_init(start).as_ref()
}

fn start() -> Option<Server> {
    let bin = bin_dir()?;
    let dir = std::env::temp_dir().join(format!(
        "provtrack-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {} to postgres", dir.display());
    }
    let data = dir.join("data");
    let out = run_as_server_user(
        &bin.join("initdb"),
        &[
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
    );
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Password authentication for one role, trust for the rest (local tests only).
    std::fs::write(
        data.join("pg_hba.conf"),
        format!(
            "local all all trust\nhost all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
        ),
    )
    .unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let opts = format!(
        "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    let log = dir.join("log");
    let out = run_as_server_user(
        &bin.join("pg_ctl"),
        &[
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ],
    );
    assert!(
        out.status.success(),
        "pg_ctl start: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Stop and remove the server when this test process is gone.
    let stop = if is_root() {
        format!(
            "runuser -u postgres -- {} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Deliberately not waited for: it outlives this process to clean up after it.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server watchdog");
    let server = Server { port, dir };
    execute(
        &server.url("postgres"),
        &format!("CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'"),
    )
    .expect("create the password role");
    Some(server)
}

impl Server {
    /// The URL of database `db` (trusted, no password).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }
}

/// A fresh, empty database on the test server; its URL.
pub fn fresh_database() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = server().unwrap_or_else(|| {
        panic!(
            "PROVTRACK_TEST_POSTGRES=1 but no PostgreSQL server binaries under /usr/lib/postgresql"
        )
    });
    let name = format!("t{}", NEXT.fetch_add(1, Ordering::SeqCst));
    execute(&server.url("postgres"), &format!("CREATE DATABASE {name}")).unwrap();
    server.url(&name)
}

/// Runs SQL on the database at `url`.
pub fn execute(url: &str, sql: &str) -> Result<(), postgres::Error> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)?;
    c.batch_execute(sql)
}

/// Every row of every table, in a stable order.
pub fn dump(url: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut rows: Vec<String> = c
            .query(&format!("SELECT row_to_json(x)::text FROM \"{t}\" x"), &[])
            .unwrap()
            .iter()
            .map(|r| format!("{t}: {}", r.get::<_, String>(0)))
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}
