//! Throw-away S3-compatible servers for the tests, started by the tests themselves: moto's
//! server (`python3 -m moto.server`, from PyPI) on free localhost ports. [`server`] takes
//! any credentials; [`auth_server`] checks them (SigV4 and IAM policies): its first five
//! requests are unauthenticated and create two IAM users, `scanner` (allowed everything)
//! and `denied` (no policy). moto's signature check mis-canonicalises a `prefix=a%2F`
//! query (boto3 and object_store both send one), so on the checking server only whole
//! buckets are listed. A watchdog stops each server when the test process exits. Objects are uploaded with boto3 (a dependency of moto).
//! When moto is missing the tests say so and skip, unless `PROVTRACK_TEST_S3=1` asked for
//! them (CI), and then they fail.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether the S3 tests must run (`PROVTRACK_TEST_S3=1`).
pub fn required() -> bool {
    std::env::var("PROVTRACK_TEST_S3").is_ok_and(|v| v == "1")
}

/// The test server and its credentials.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The `scanner` user's access key id and secret.
    pub key: (String, String),
    /// The `denied` user's (no policy: every request is refused).
    pub denied: (String, String),
}

/// Creates the two users; prints their keys as four lines.
const SETUP: &str = r#"
import sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="scanner")
iam.put_user_policy(UserName="scanner", PolicyName="all", PolicyDocument=
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
k = iam.create_access_key(UserName="scanner")["AccessKey"]
iam.create_user(UserName="denied")
d = iam.create_access_key(UserName="denied")["AccessKey"]
print(k["AccessKeyId"]); print(k["SecretAccessKey"])
print(d["AccessKeyId"]); print(d["SecretAccessKey"])
"#;

/// Uploads: `python3 -c PUT ENDPOINT BUCKET` reads lines `KEY\tFILE` (FILE empty: delete
/// KEY) from stdin; creates the bucket when missing.
const PUT: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
bucket = sys.argv[2]
try:
    s3.head_bucket(Bucket=bucket)
except Exception:
    s3.create_bucket(Bucket=bucket)
for line in sys.stdin:
    key, path = line.rstrip("\n").split("\t")
    if path:
        s3.upload_file(path, bucket, key)
    else:
        s3.delete_object(Bucket=bucket, Key=key)
"#;

fn moto_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server that takes any credentials, started on first use; `None` (with a notice)
/// when moto is not installed and the tests were not required.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    installed(SERVER.get_or_init(|| start(false)).as_ref())
}

/// The server that checks credentials (see the module doc).
pub fn auth_server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    installed(SERVER.get_or_init(|| start(true)).as_ref())
}

fn installed(s: Option<&'static Server>) -> Option<&'static Server> {
    if s.is_none() {
        assert!(
            !required(),
            "PROVTRACK_TEST_S3=1 but moto's server is not installed (python3 -m pip install 'moto[server]')"
        );
        eprintln!(
            "notice: moto is not installed (python3 -m pip install 'moto[server]'); S3 test skipped"
        );
    }
    s
}

fn start(auth: bool) -> Option<Server> {
    if !moto_installed() {
        return None;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = std::env::temp_dir().join(format!("provtrack-moto-{port}.log"));
    // The watchdog runs moto and stops it when this test process is gone.
    let script = format!(
        "{auth} python3 -m moto.server -H 127.0.0.1 -p {port} >{log} 2>&1 & m=$!; \
         while kill -0 {pid} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done; kill $m 2>/dev/null",
        pid = std::process::id(),
        log = log.display(),
        auth = if auth {
            "INITIAL_NO_AUTH_ACTION_COUNT=5"
        } else {
            ""
        }
    );
    // Deliberately not waited for: it outlives this process to clean up after it.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto's server");
    // Up when it accepts connections (an HTTP probe would use up an unauthenticated request).
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto's server did not start on port {port}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    if !auth {
        let any = || ("testing".to_string(), "testing-secret".to_string());
        return Some(Server {
            endpoint,
            key: any(),
            denied: any(),
        });
    }
    let out = Command::new("python3")
        .args(["-c", SETUP, &endpoint])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "creating the test users: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 4, "setup printed {lines:?}");
    Some(Server {
        endpoint,
        key: (lines[0].clone(), lines[1].clone()),
        denied: (lines[2].clone(), lines[3].clone()),
    })
}

impl Server {
    /// The environment a client of this server gets, as the `scanner` user.
    pub fn vars(&self) -> Vec<(String, String)> {
        self.vars_as(&self.key.0, &self.key.1)
    }

    /// The environment with another access key and secret.
    pub fn vars_as(&self, key: &str, secret: &str) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Sets the `scanner` user's environment on a command (no other AWS_* leaks in).
    pub fn env(&self, cmd: &mut Command) {
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.vars());
    }

    /// Puts (or with `None`, deletes) objects: (key, file).
    pub fn put(&self, bucket: &str, objects: &[(String, Option<&Path>)]) {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", PUT, &self.endpoint, bucket]);
        self.env(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        {
            let mut stdin = child.stdin.take().unwrap();
            for (key, path) in objects {
                let p = path.map(|p| p.display().to_string()).unwrap_or_default();
                writeln!(stdin, "{key}\t{p}").unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "upload to {bucket}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Uploads every file under `dir` as `prefix/RELATIVE/PATH`.
    pub fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) {
        let mut files = Vec::new();
        collect(dir, dir, &mut files);
        let objects: Vec<(String, Option<&Path>)> = files
            .iter()
            .map(|(rel, abs)| (format!("{prefix}/{rel}"), Some(abs.as_path())))
            .collect();
        self.put(bucket, &objects);
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, p));
        }
    }
}
