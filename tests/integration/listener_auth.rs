//! The listener's own TLS and basic auth (`[server.tls_server_config]`,
//! `[server.basic_auth_users]`, `--web.config.file`): a real rustls client against
//! certificates made here, credentials on every endpoint, and the errors a bad
//! setting gets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use outpost::config::Config;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;

use crate::support::certs::{Ca, Leaf};
use crate::support::config_errors;
use crate::support::daemon::{request, target_server, TestDaemon};

const BIN: &str = env!("CARGO_BIN_EXE_outpost");
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A CA, the daemon's certificate from it, and files for both in a temp dir.
struct Pki {
    ca: Ca,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let ca = Ca::new();
        let dir = tempfile::tempdir().unwrap();
        let server = ca.leaf(&["localhost"], &[LOCALHOST], (2039, 1, 1));
        write(dir.path(), "server.crt", &server.chain_pem());
        write(dir.path(), "server.key", &server.key_pem());
        write(dir.path(), "ca.crt", &ca.pem());
        Pki { ca, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Loads `toml` written as `probes.toml` beside the certificates.
    fn load(&self, toml: &str) -> Config {
        write(self.dir.path(), "probes.toml", toml);
        Config::load(&self.path("probes.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    async fn start(self, toml: &str) -> (TestDaemon, Ca) {
        let config = self.load(toml);
        (TestDaemon::start_loaded(self.dir, config).await, self.ca)
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn roots(ca: &Ca) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    roots
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client trusting `ca`, speaking `versions`, with `cert` as its certificate.
fn client(
    ca: &Ca,
    versions: &[&'static rustls::SupportedProtocolVersion],
    cert: Option<&Leaf>,
) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots(ca));
    Arc::new(match cert {
        Some(leaf) => builder
            .with_client_auth_cert(leaf.chain.clone(), leaf.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// One HTTPS request naming the daemon `localhost`; any failure (handshake,
/// refused client certificate, closed connection) is an `Err`.
async fn tls_get(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    path: &str,
) -> Result<(StatusCode, String), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {}", chain(&e)))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

/// An error and its sources, as one line: a refused client certificate shows
/// only in the source of hyper's "connection error".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

const TLS: &str =
    "[server.tls_server_config]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\n";

#[tokio::test]
async fn tls_is_served_and_verified_against_the_test_ca() {
    let (daemon, ca) = Pki::new().start(TLS).await;
    let both = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let got = tls_get(daemon.addr, client(&ca, both, None), "/-/healthy").await;
    assert_eq!(got, Ok((StatusCode::OK, "Healthy\n".to_string())));
    // TLS 1.2 is the default minimum: a TLS 1.2-only client gets in.
    let tls12 = client(&ca, &[&rustls::version::TLS12], None);
    let got = tls_get(daemon.addr, tls12, "/-/ready").await;
    assert_eq!(got, Ok((StatusCode::OK, "Ready\n".to_string())));
    // A client trusting another CA (of the same name) refuses the daemon's certificate.
    let stranger = client(&Ca::new(), both, None);
    let refused = tls_get(daemon.addr, stranger, "/-/healthy").await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("handshake: invalid peer certificate")),
        "{refused:?}"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn min_version_tls13_refuses_a_tls12_only_client() {
    let toml = format!("{TLS}min_version = \"TLS13\"\n");
    let (daemon, ca) = Pki::new().start(&toml).await;
    let tls12 = client(&ca, &[&rustls::version::TLS12], None);
    let refused = tls_get(daemon.addr, tls12, "/-/healthy").await;
    assert!(
        refused.as_ref().is_err_and(|e| e.starts_with("handshake:")),
        "{refused:?}"
    );
    let tls13 = client(&ca, &[&rustls::version::TLS13], None);
    let got = tls_get(daemon.addr, tls13, "/-/healthy").await;
    assert_eq!(got, Ok((StatusCode::OK, "Healthy\n".to_string())));
    daemon.stop().await;
}

#[tokio::test]
async fn require_and_verify_client_cert_admits_only_certificates_from_client_ca_file() {
    let toml = format!(
        "{TLS}client_ca_file = \"ca.crt\"\nclient_auth_type = \"RequireAndVerifyClientCert\"\n"
    );
    let (daemon, ca) = Pki::new().start(&toml).await;
    let versions = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let without = tls_get(daemon.addr, client(&ca, versions, None), "/metrics").await;
    assert!(
        without
            .as_ref()
            .is_err_and(|e| e.contains("CertificateRequired")),
        "{without:?}"
    );
    let other_ca = Ca::new().leaf(&["client"], &[], (2039, 1, 1));
    let foreign = tls_get(
        daemon.addr,
        client(&ca, versions, Some(&other_ca)),
        "/metrics",
    )
    .await;
    // Refused by the daemon (its issuer's name matches ours, its signature does not).
    assert!(
        foreign
            .as_ref()
            .is_err_and(|e| e.contains("received fatal alert: DecryptError")),
        "{foreign:?}"
    );
    let ours = ca.leaf(&["client"], &[], (2039, 1, 1));
    let got = tls_get(daemon.addr, client(&ca, versions, Some(&ours)), "/metrics").await;
    let (status, body) = got.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("outpost_build_info"), "{body}");
    // Plain HTTP on the TLS port gets no answer (the helper panics on the error).
    let addr = daemon.addr;
    let plain = tokio::spawn(async move { request(addr, "GET", "/-/healthy", &[]).await });
    assert!(
        plain.await.is_err(),
        "plain HTTP was answered on the TLS port"
    );
    daemon.stop().await;
}

fn basic(user_password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
    format!("Basic {encoded}")
}

/// `[server.basic_auth_users]` with alice's hash of "s3cret" (cost 4: fast).
fn users_toml() -> String {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    format!("[server.basic_auth_users]\nalice = \"{hash}\"\n")
}

async fn assert_guarded(addr: SocketAddr, method: &str, path: &str, ok: StatusCode) {
    let (status, headers, _) = request(addr, method, path, &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{method} {path} without credentials"
    );
    assert_challenge(&headers);
    let wrong = basic("alice:guess");
    let (status, headers, _) = request(addr, method, path, &[("authorization", &wrong)]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{method} {path}, wrong password"
    );
    assert_challenge(&headers);
    let nobody = basic("mallory:s3cret");
    let (status, _, _) = request(addr, method, path, &[("authorization", &nobody)]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{method} {path}, unknown user"
    );
    let right = basic("alice:s3cret");
    // Twice: the second is answered from the cache of successful checks.
    for _ in 0..2 {
        let (status, _, _) = request(addr, method, path, &[("authorization", &right)]).await;
        assert_eq!(status, ok, "{method} {path}, right password");
    }
}

fn assert_challenge(headers: &HeaderMap) {
    assert_eq!(
        headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"outpost\"")
    );
}

#[tokio::test]
async fn basic_auth_guards_every_endpoint() {
    let target = target_server().await;
    let toml = format!(
        "{}\n[modules.http_2xx]\nprober = \"http\"\ntimeout = \"5s\"\n",
        users_toml()
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "probes.toml", &toml);
    let config = Config::load(&dir.path().join("probes.toml")).unwrap();
    let daemon = TestDaemon::start_loaded(dir, config).await;
    let probe = format!("/probe?target=http://{target}/ok&module=http_2xx");
    assert_guarded(daemon.addr, "GET", "/metrics", StatusCode::OK).await;
    assert_guarded(daemon.addr, "GET", &probe, StatusCode::OK).await;
    assert_guarded(daemon.addr, "POST", "/-/reload", StatusCode::OK).await;
    assert_guarded(daemon.addr, "GET", "/-/healthy", StatusCode::OK).await;
    assert_guarded(daemon.addr, "GET", "/", StatusCode::OK).await;
    assert_guarded(daemon.addr, "GET", "/api/v1/status", StatusCode::OK).await;
    assert_guarded(daemon.addr, "GET", "/nowhere", StatusCode::NOT_FOUND).await;
    // What the right credentials get is the real answer.
    let right = basic("alice:s3cret");
    let (_, _, body) = request(daemon.addr, "GET", &probe, &[("authorization", &right)]).await;
    assert!(body.contains("probe_success 1"), "{body}");
    daemon.stop().await;
}

#[tokio::test]
async fn a_reload_applies_new_credentials_and_a_bad_certificate_keeps_the_running_config() {
    let daemon = TestDaemon::start("").await;
    let (status, _) = daemon.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    std::fs::write(&daemon.config_path, users_toml()).unwrap();
    let (status, _, _) = request(daemon.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = daemon.get("/metrics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A key that does not load: the reload fails, alice still gets in, others not.
    let dir = daemon.config_path.parent().unwrap().to_path_buf();
    write(
        &dir,
        "server.crt",
        &Ca::new()
            .leaf(&["localhost"], &[], (2039, 1, 1))
            .chain_pem(),
    );
    write(&dir, "server.key", "not a key\n");
    std::fs::write(&daemon.config_path, format!("{}\n{TLS}", users_toml())).unwrap();
    let right = basic("alice:s3cret");
    let (status, _, body) = request(
        daemon.addr,
        "POST",
        "/-/reload",
        &[("authorization", &right)],
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body.contains("server.tls_server_config.key_file: no usable private key"),
        "{body}"
    );
    let (status, _, _) =
        request(daemon.addr, "GET", "/metrics", &[("authorization", &right)]).await;
    assert_eq!(status, StatusCode::OK);
    daemon.stop().await;
}

#[test]
fn a_plain_text_password_is_a_config_error_at_its_position() {
    let text = "[server]\n\n[server.basic_auth_users]\nalice = \"hunter2\"\n";
    let errors = config_errors(text);
    assert_eq!(
        errors,
        "probes.toml:4:9: server.basic_auth_users.alice: not a bcrypt hash (hint: plain-text \
         passwords are refused: store a bcrypt hash, e.g. from `htpasswd -nBC 10 user`)"
    );
}

#[test]
fn listener_tls_mistakes_are_config_errors_with_positions() {
    let pki = Pki::new();
    let cases = [
        (
            "[server.tls_server_config]\ncert_file = \"server.crt\"\n",
            "1:1: server.tls_server_config: missing required key `key_file`",
        ),
        (
            &format!("{TLS}client_auth_type = \"RequireClientCert\"\n") as &str,
            "4:20: server.tls_server_config.client_auth_type: invalid client_auth_type \"RequireClientCert\"",
        ),
        (
            &format!("{TLS}client_auth_type = \"RequireAndVerifyClientCert\"\n"),
            "4:20: server.tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file",
        ),
        (
            &format!("{TLS}client_ca_file = \"ca.crt\"\n"),
            "4:18: server.tls_server_config.client_ca_file: client_ca_file is set but client_auth_type NoClientCert verifies no client certificate",
        ),
        (
            &format!("{TLS}min_version = \"TLS14\"\n"),
            "4:15: server.tls_server_config.min_version: invalid TLS version \"TLS14\"",
        ),
        (
            "[server.tls_server_config]\ncert_file = \"ca.crt\"\nkey_file = \"server.key\"\n",
            "3:12: server.tls_server_config.key_file: cannot serve TLS with this certificate and key",
        ),
        (
            "[server.tls_server_config]\ncert_file = \"nope.crt\"\nkey_file = \"server.key\"\n",
            "2:13: server.tls_server_config.cert_file: cannot read",
        ),
    ];
    for (toml, want) in cases {
        write(pki.dir.path(), "probes.toml", toml);
        let path = pki.path("probes.toml");
        let errors = Config::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let want = format!("{}:{want}", path.display());
        assert!(errors.starts_with(&want), "want {want}\ngot  {errors}");
    }
}

/// exporter-toolkit's web config, in a directory of its own: relative paths
/// resolve against it, not against probes.toml's.
fn web_config(pki: &Pki, extra: &str) -> PathBuf {
    let web_dir = pki.path("web");
    std::fs::create_dir_all(&web_dir).unwrap();
    for name in ["server.crt", "server.key", "ca.crt"] {
        std::fs::rename(pki.path(name), web_dir.join(name)).unwrap();
    }
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let yaml = format!(
        "# as node_exporter takes it\ntls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\n{extra}basic_auth_users:\n  alice: {hash}\n"
    );
    write(&web_dir, "web.yml", &yaml);
    web_dir.join("web.yml")
}

#[tokio::test]
async fn web_config_file_yaml_serves_tls_and_basic_auth() {
    let pki = Pki::new();
    let web = web_config(&pki, "");
    write(pki.dir.path(), "probes.toml", "");
    let config = Config::load_with(&pki.path("probes.toml"), Some(&web)).unwrap();
    assert_eq!(config.web_config_file.as_deref(), Some(web.as_path()));
    let Pki { ca, dir } = pki;
    let daemon = TestDaemon::start_loaded(dir, config).await;
    let versions = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let got = tls_get(daemon.addr, client(&ca, versions, None), "/metrics").await;
    assert_eq!(got.map(|(s, _)| s), Ok(StatusCode::UNAUTHORIZED));
    let got = tls_authorized_get(daemon.addr, client(&ca, versions, None), "alice:s3cret").await;
    assert_eq!(got, Ok(StatusCode::OK));
    // A reload reads the web config file again.
    let (status, body) = {
        let tcp = TcpStream::connect(daemon.addr).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(client(&ca, versions, None))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::post("/-/reload")
            .header("host", "localhost")
            .header("authorization", basic("alice:s3cret"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    daemon.stop().await;
}

/// GET /metrics over TLS with basic auth credentials.
async fn tls_authorized_get(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    user_password: &str,
) -> Result<StatusCode, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = Request::get("/metrics")
        .header("host", "localhost")
        .header("authorization", basic(user_password))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    Ok(resp.status())
}

#[test]
fn web_config_file_errors_point_into_the_yaml() {
    let pki = Pki::new();
    let web = web_config(&pki, "  client_auth_type: Sometimes\n");
    write(pki.dir.path(), "probes.toml", "");
    let errors = Config::load_with(&pki.path("probes.toml"), Some(&web))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let want = format!(
        "{}:6:21: tls_server_config.client_auth_type: invalid client_auth_type \"Sometimes\"",
        web.display()
    );
    assert!(errors.starts_with(&want), "want {want}\ngot  {errors}");
    // A plain-text password in the YAML, and an unknown key.
    write(
        &pki.path("web"),
        "web.yml",
        "basic_auth_users:\n  bob: hunter2\nbasic_auth_user: {}\n",
    );
    let errors = Config::load_with(&pki.path("probes.toml"), Some(&web))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        errors.contains(&format!("{}:3:", web.display())),
        "{errors}"
    );
    assert!(errors.contains("basic_auth_user"), "{errors}");
    write(
        &pki.path("web"),
        "web.yml",
        "basic_auth_users:\n  bob: hunter2\n",
    );
    let errors = Config::load_with(&pki.path("probes.toml"), Some(&web))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        errors,
        format!(
            "{}:2:8: basic_auth_users.bob: not a bcrypt hash (hint: plain-text passwords are \
             refused: store a bcrypt hash, e.g. from `htpasswd -nBC 10 user`)",
            web.display()
        )
    );
    assert!(!errors.contains("hunter2"));
}

#[test]
fn web_config_file_and_server_tables_together_are_refused() {
    let pki = Pki::new();
    let web = web_config(&pki, "");
    let toml = format!("[server]\n{}", users_toml());
    write(pki.dir.path(), "probes.toml", &toml);
    let errors = Config::load_with(&pki.path("probes.toml"), Some(&web))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let want = format!(
        "{}:2:1: server.basic_auth_users: set here and by --web.config.file {}",
        pki.path("probes.toml").display(),
        web.display()
    );
    assert!(errors.starts_with(&want), "want {want}\ngot  {errors}");
    // Through the binary: the flag, `check`, exit code 2 (a bad configuration).
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(pki.path("probes.toml"))
        .arg("--web.config.file")
        .arg(&web)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&want), "{stderr}");
}

#[test]
fn check_warns_when_probe_is_open_to_anyone() {
    let pki = Pki::new();
    write(pki.dir.path(), "probes.toml", "");
    let check = |extra: &[&str], listen: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.arg("check")
            .arg("--config")
            .arg(pki.path("probes.toml"))
            .args(extra)
            .env_remove("OUTPOST_LISTEN")
            .env_remove("OUTPOST_WEB_CONFIG");
        // `check` serves nothing, so it has no --listen: it judges the address the
        // daemon reads from its environment, as a unit's EnvironmentFile sets it.
        if let Some(listen) = listen {
            cmd.env("OUTPOST_LISTEN", listen);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    let (code, stderr) = check(&[], None);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.starts_with("warning: /probe is open to anyone who can reach :9465"),
        "{stderr}"
    );
    assert!(stderr.contains("[server.basic_auth_users]"), "{stderr}");
    assert!(
        stderr.contains("[server.probe_endpoint] enabled = false"),
        "{stderr}"
    );
    let (code, stderr) = check(&[], Some("127.0.0.1:9465"));
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    let (code, stderr) = check(&[], Some("0.0.0.0:9465"));
    assert!(
        stderr.starts_with("warning: /probe is open to anyone who can reach 0.0.0.0:9465"),
        "{code:?} {stderr}"
    );
    let web = web_config(&pki, "");
    let (code, stderr) = check(&["--web.config.file", web.to_str().unwrap()], None);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}

/// A client that connects and never starts its TLS handshake is cut off after
/// TLS_HANDSHAKE_TIMEOUT (on a paused clock, which advances while everything
/// waits on the socket); the listener keeps serving others.
#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_handshake_is_disconnected() {
    use tokio::io::AsyncReadExt;
    let (daemon, ca) = Pki::new().start(TLS).await;
    let mut stalled = TcpStream::connect(daemon.addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stalled.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "connection still open after 60 s");
    let waited = started.elapsed();
    assert!(
        waited >= outpost::server::TLS_HANDSHAKE_TIMEOUT
            && waited < std::time::Duration::from_secs(60),
        "closed after {waited:?}"
    );
    assert!(answer.is_empty(), "{answer:?}");
    let versions = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let got = tls_get(daemon.addr, client(&ca, versions, None), "/-/healthy").await;
    assert_eq!(got, Ok((StatusCode::OK, "Healthy\n".to_string())));
    daemon.stop().await;
}
