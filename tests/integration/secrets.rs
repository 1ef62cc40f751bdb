//! Secrets never leave the process: a password in a target's userinfo, API keys
//! and cookies in `headers`, and a password in a redirect's Location are hidden in
//! the `debug=true` trace and module dump, in `outpost probe`'s output (a failing
//! one's included), on the status page and in the `target` label, while the probe
//! still sends them.

use std::process::Command;
use std::time::Duration;

use http::StatusCode;

use crate::support::daemon::{sample, TestDaemon};
use crate::support::server::{handler, respond, serve, Server};

const PASSWORD: &str = "userinfo-pass-4711";
const API_KEY: &str = "api-key-value-4712";
const COOKIE: &str = "cookie-value-4713";
const TOKEN: &str = "auth-token-4714";
const LOCATION_PASSWORD: &str = "location-pass-4715";
const ALL: [&str; 5] = [PASSWORD, API_KEY, COOKIE, TOKEN, LOCATION_PASSWORD];

/// `/start` redirects to `/ok` through a Location that carries a password; `/ok`
/// answers 200 only when every credential arrived (so hiding them from people did
/// not keep them from the target).
async fn target() -> Server {
    serve(
        None,
        handler(|seen| {
            let h = |name: &str| {
                seen.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            match seen.uri.path() {
                "/start" => {
                    let host = h("host");
                    let to = format!("http://user:{LOCATION_PASSWORD}@{host}/ok");
                    respond(302, &[("location", to.as_str())], "")
                }
                "/ok"
                    if h("x-api-key") == API_KEY
                        && h("cookie") == format!("session={COOKIE}")
                        && h("x-upstream-auth") == TOKEN =>
                {
                    respond(200, &[], "ok")
                }
                _ => respond(403, &[], "credentials missing"),
            }
        }),
    )
    .await
}

fn module() -> String {
    format!(
        "[modules.with_secrets]\nprober = \"http\"\ntimeout = \"3s\"\n\
         [modules.with_secrets.http]\nvalid_status_codes = [200]\n\
         headers = {{ \"X-Api-Key\" = \"{API_KEY}\", \"Cookie\" = \"session={COOKIE}\", \"X-Upstream-Auth\" = \"{TOKEN}\" }}\n"
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in ALL {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_trace_and_module_dump_hide_userinfo_and_credential_headers() {
    let t = target().await;
    let d = TestDaemon::start(&module()).await;
    let url = format!("http://user:{PASSWORD}@{}/start", t.addr);
    let (status, body) = d
        .get(&format!(
            "/probe?module=with_secrets&debug=true&target={}",
            url.replace(':', "%3A")
                .replace('/', "%2F")
                .replace('@', "%40")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The probe itself sent everything: the target answered 200 only then.
    assert!(body.contains("probe_success 1"), "{body}");
    assert_no_secret("the debug=true answer", &body);
    // What is shown in their place.
    for shown in [
        format!("target=http://user:<secret>@{}/start", t.addr),
        format!("Requesting GET http://user:<secret>@{}/start", t.addr),
        format!("< location: http://user:<secret>@{}/ok", t.addr),
        "> x-api-key: <secret>".to_string(),
        "> cookie: <secret>".to_string(),
        "> x-upstream-auth: <secret>".to_string(),
        "X-Api-Key = \"<secret>\"".to_string(),
        "Cookie = \"<secret>\"".to_string(),
    ] {
        assert!(body.contains(&shown), "no {shown:?} in:\n{body}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_probe_hides_the_password_in_its_label_and_on_the_status_page() {
    let t = target().await;
    let toml = format!(
        "{}\n[[probes]]\nname = \"secretive\"\nmodule = \"with_secrets\"\n\
         target = \"http://user:{PASSWORD}@{}/start\"\ninterval = \"2s\"\ntimeout = \"1s\"\n",
        module(),
        t.addr
    );
    let d = TestDaemon::start(&toml).await;
    let shown = format!("http://user:<secret>@{}/start", t.addr);
    let labels = format!("probe=\"secretive\",module=\"with_secrets\",target=\"{shown}\"");
    let m = d
        .metrics_when(Duration::from_secs(10), |m| {
            sample(m, "probe_success", &labels).is_some()
        })
        .await;
    assert_eq!(sample(&m, "probe_success", &labels), Some(1.0), "{m}");
    assert_no_secret("/metrics", &m);
    let (status, page) = d.get("/").await;
    assert_eq!(status, StatusCode::OK);
    let escaped = shown.replace('<', "&lt;").replace('>', "&gt;");
    assert!(page.contains(&escaped), "{page}");
    assert_no_secret("the status page", &page);
    let (status, json) = d.get("/api/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(json.contains(&format!("\"target\":\"{shown}\"")), "{json}");
    assert_no_secret("/api/v1/status", &json);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outpost_probe_prints_no_secret_and_logs_none_on_failure() {
    let t = target().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, module()).unwrap();
    let bin = env!("CARGO_BIN_EXE_outpost");
    let run = |target: String| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(bin)
                .args(["probe", "--metrics", "--module", "with_secrets", "--config"])
                .arg(&path)
                .arg(target)
                .output()
                .unwrap()
        })
    };
    let ok = run(format!("http://user:{PASSWORD}@{}/start", t.addr))
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(ok.status.success(), "{text}");
    assert!(text.contains("user:<secret>@"), "{text}");
    assert_no_secret("outpost probe", &text);
    // A failing probe's message and logs: the target answers 403 on this path.
    let failed = run(format!("http://user:{PASSWORD}@{}/other", t.addr))
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert_no_secret("a failed outpost probe", &text);
}

/// `password_env` and `bearer_token_env` read the secret from outpost's environment
/// at load: the target receives it, the module dump names only the variable, and
/// an unset variable is a config error at its position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_the_environment_are_sent_and_an_unset_one_is_an_error() {
    use base64::Engine as _;
    const PASSWORD_FROM_ENV: &str = "env-password-4716";
    const TOKEN_FROM_ENV: &str = "env-token-4717";
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("prober:{PASSWORD_FROM_ENV}"))
    );
    let bearer = format!("Bearer {TOKEN_FROM_ENV}");
    let t = serve(
        None,
        handler(move |seen| {
            let auth = seen
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if auth == basic || auth == bearer {
                respond(200, &[], "ok")
            } else {
                respond(401, &[], "no")
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(
        &path,
        "[modules.basic]\nprober = \"http\"\ntimeout = \"3s\"\n[modules.basic.http.basic_auth]\n\
         username = \"prober\"\npassword_env = \"OUTPOST_TEST_PASSWORD\"\n\
         [modules.bearer]\nprober = \"http\"\ntimeout = \"3s\"\n[modules.bearer.http]\n\
         bearer_token_env = \"OUTPOST_TEST_TOKEN\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_outpost");
    let target = format!("http://{}/", t.addr);
    let run = |args: Vec<String>, env: bool| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(bin);
            cmd.args(&args).arg("--config").arg(&path);
            if env {
                cmd.env("OUTPOST_TEST_PASSWORD", PASSWORD_FROM_ENV)
                    .env("OUTPOST_TEST_TOKEN", TOKEN_FROM_ENV);
            }
            cmd.output().unwrap()
        })
    };
    for module in ["basic", "bearer"] {
        let args = vec![
            "probe".into(),
            "--metrics".into(),
            "--module".into(),
            module.into(),
            target.clone(),
        ];
        let out = run(args, true).await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{module}: {text}");
        assert!(text.contains("probe_success 1"), "{module}: {text}");
        assert!(
            !text.contains(PASSWORD_FROM_ENV) && !text.contains(TOKEN_FROM_ENV),
            "{text}"
        );
    }
    let out = run(vec!["check".into()], false).await.unwrap();
    let errors = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{errors}");
    assert!(
        errors.contains(":6:16: modules.basic.http.basic_auth.password_env: environment variable OUTPOST_TEST_PASSWORD is not set")
            && errors.contains(":11:20: modules.bearer.http.bearer_token_env: environment variable OUTPOST_TEST_TOKEN is not set"),
        "{errors}"
    );
}
