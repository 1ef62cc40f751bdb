//! The translation, option family by option family, as the exact TOML it writes;
//! and what it refuses, with where and why.

use std::path::Path;

use super::{translate, ImportError, Scrape};

/// The TOML for `yaml`, without the comment lines of the header.
fn imported(yaml: &str) -> String {
    match translate(yaml, Path::new("blackbox.yml"), None) {
        Ok(text) => without_header(&text),
        Err(e) => panic!("refused:\n{e}"),
    }
}

fn without_header(text: &str) -> String {
    let start = text.find("\n\n").map_or(0, |i| i + 2);
    text[start..].to_string()
}

/// Every refusal of `yaml`, one per line.
fn refused(yaml: &str) -> String {
    refused_with(yaml, None)
}

fn refused_with(yaml: &str, scrape: Option<Scrape<'_>>) -> String {
    match translate(yaml, Path::new("blackbox.yml"), scrape) {
        Ok(text) => panic!("imported:\n{text}"),
        Err(e @ ImportError::Refused(_)) => e.to_string(),
        Err(e) => panic!("{e}"),
    }
}

/// `text` indented by `n` spaces on every line, for a YAML block scalar.
fn indent(text: &str, n: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}\n", " ".repeat(n)))
        .collect()
}

#[test]
fn the_header_names_the_source_and_the_defaults_that_differ() {
    let text = translate(
        "modules:\n  h:\n    prober: http\n    http:\n      body_file: b.json\n",
        Path::new("/etc/blackbox.yml"),
        None,
    );
    assert_eq!(
        text.map_err(|e| e.to_string()).as_deref(),
        Ok("# Imported by `outpost import-blackbox` from Blackbox Exporter's configuration\n\
            #   /etc/blackbox.yml\n\
            # Every option is Blackbox's, in outpost's TOML (docs/configuration.md); check it\n\
            # with `outpost check --config FILE` on the machine that will run it.\n\
            # An http module without body_size_limit reads at most 10MiB of a body in outpost,\n\
            # where Blackbox reads without limit: set body_size_limit = 0 for Blackbox's behaviour.\n\
            # Relative file names are read from this file's directory by outpost, from its\n\
            # working directory by Blackbox: put the files there, or make the names absolute.\n\
            \n\
            [modules.h]\n\
            prober = \"http\"\n\
            \n\
            [modules.h.http]\n\
            body_file = \"b.json\"\n")
    );
}

#[test]
fn http_options_keep_their_names_order_and_values() {
    let yaml = r#"
modules:
  http_post_2xx:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200, 201]
      valid_http_versions: ["HTTP/1.1", "HTTP/2.0"]
      method: POST
      headers:
        Content-Type: application/json
        Accept-Encoding: gzip
        X-Version: 1.0
      body: '{"ping": true}'
      compression: gzip
      body_size_limit: 1MB
      no_follow_redirects: true
      fail_if_not_ssl: true
      fail_if_body_matches_regexp: ["(?i)error"]
      fail_if_body_not_matches_regexp: ['"status":\s*"ok"']
      fail_if_body_json_not_matches_cel: "body.status == 'ok'"
      fail_if_header_matches:
        - header: Content-Type
          regexp: text/html
      fail_if_header_not_matches:
        - {header: X-Served-By, regexp: "^web-", allow_missing: true}
      proxy_url: http://proxy.internal:3128
      no_proxy: localhost,.internal
      skip_resolve_phase_with_proxy: true
      enable_http2: false
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"#;
    assert_eq!(
        imported(yaml),
        r#"[modules.http_post_2xx]
prober = "http"
timeout = "5s"

[modules.http_post_2xx.http]
valid_status_codes = [200, 201]
valid_http_versions = ["HTTP/1.1", "HTTP/2.0"]
method = "POST"
headers = { Content-Type = "application/json", Accept-Encoding = "gzip", X-Version = "1.0" }
body = '{"ping": true}'
compression = "gzip"
body_size_limit = "1MB"
follow_redirects = false  # Blackbox's deprecated `no_follow_redirects: true`
fail_if_not_ssl = true
fail_if_body_matches_regexp = ["(?i)error"]
fail_if_body_not_matches_regexp = ['"status":\s*"ok"']
fail_if_body_json_not_matches_cel = "body.status == 'ok'"
fail_if_header_matches = [{ header = "Content-Type", regexp = "text/html" }]
fail_if_header_not_matches = [{ header = "X-Served-By", regexp = "^web-", allow_missing = true }]
proxy_url = "http://proxy.internal:3128"
no_proxy = "localhost,.internal"
skip_resolve_phase_with_proxy = true
enable_http2 = false
preferred_ip_protocol = "ip4"
ip_protocol_fallback = false
"#
    );
}

#[test]
fn http_credentials_keep_files_as_files_and_comment_inline_secrets() {
    let yaml = r#"
modules:
  basic:
    prober: http
    http:
      basic_auth: {username: prober, password: hunter2}
  basic_file:
    prober: http
    http:
      basic_auth: {username: prober, password_file: /etc/outpost/password}
  bearer:
    prober: http
    http:
      bearer_token: t0ken
      headers:
        X-Api-Key: k3y
  authorization:
    prober: http
    http:
      authorization: {type: Token, credentials: s3cret}
  oauth2:
    prober: http
    http:
      oauth2:
        client_id: outpost
        client_secret: cl13nt
        token_url: https://auth.internal/token
        scopes: [probe.read, probe.write]
        endpoint_params: {audience: "https://api.internal"}
        grant_type: client_credentials
        proxy_url: http://user:pw@proxy.internal:3128
        proxy_connect_header: {Proxy-Token: [pt]}
  headers:
    prober: http
    http:
      http_headers:
        X-Tenant: {values: [blue]}
        X-Api-Key: {secrets: [k3y], files: [/etc/outpost/api-key]}
"#;
    assert_eq!(
        imported(yaml),
        r#"[modules.basic]
prober = "http"

[modules.basic.http.basic_auth]
username = "prober"
password = "hunter2"  # inline secret, carried over from Blackbox's YAML: better in password_file or password_env (docs/configuration.md#secrets)

[modules.basic_file]
prober = "http"

[modules.basic_file.http.basic_auth]
username = "prober"
password_file = "/etc/outpost/password"

[modules.bearer]
prober = "http"

[modules.bearer.http]
bearer_token = "t0ken"  # inline secret, carried over from Blackbox's YAML: better in bearer_token_file or bearer_token_env (docs/configuration.md#secrets)
headers = { X-Api-Key = "k3y" }  # inline secret, carried over from Blackbox's YAML (a credential header): better in http_headers with files (docs/configuration.md#secrets)

[modules.authorization]
prober = "http"

[modules.authorization.http.authorization]
type = "Token"
credentials = "s3cret"  # inline secret, carried over from Blackbox's YAML: better in credentials_file or credentials_env (docs/configuration.md#secrets)

[modules.oauth2]
prober = "http"

# `grant_type: client_credentials` is left out: client_credentials is the only grant outpost has.
[modules.oauth2.http.oauth2]
client_id = "outpost"
client_secret = "cl13nt"  # inline secret, carried over from Blackbox's YAML: better in client_secret_file or client_secret_env (docs/configuration.md#secrets)
token_url = "https://auth.internal/token"
scopes = ["probe.read", "probe.write"]
endpoint_params = { audience = "https://api.internal" }
proxy_url = "http://user:pw@proxy.internal:3128"  # inline secret, carried over from Blackbox's YAML (the proxy's password): keep this file private
proxy_connect_header = { Proxy-Token = ["pt"] }  # inline secret, carried over from Blackbox's YAML: keep this file private (docs/configuration.md#secrets)

[modules.headers]
prober = "http"

[modules.headers.http.http_headers]
X-Tenant = { values = ["blue"] }
X-Api-Key = { secrets = ["k3y"], files = ["/etc/outpost/api-key"] }  # inline secret, carried over from Blackbox's YAML: better in files (docs/configuration.md#secrets)
"#
    );
}

#[test]
fn tcp_query_response_steps_are_inline_tables_in_order() {
    let yaml = r#"
modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      source_ip_address: 10.0.0.5
      tls_config: {server_name: mail.example.com}
      query_response:
        - expect: "^220 ([^ ]+) ESMTP (.+)$"
          labels:
            - {name: mta, value: "${1}"}
        - send: "EHLO prober\r"
        - expect: "^250-STARTTLS"
        - send: "STARTTLS\r"
        - expect: "^220"
        - starttls: true
        - send: "QUIT\r"
  redis:
    prober: tcp
    tcp:
      tls: true
      query_response:
        - send: PING
        - expect_bytes: "+PONG"
"#;
    assert_eq!(
        imported(yaml),
        r#"[modules.smtp_starttls]
prober = "tcp"
timeout = "5s"

[modules.smtp_starttls.tcp]
preferred_ip_protocol = "ip4"
ip_protocol_fallback = false
source_ip_address = "10.0.0.5"
query_response = [{ expect = "^220 ([^ ]+) ESMTP (.+)$", labels = [{ name = "mta", value = "${1}" }] }, { send = "EHLO prober\r" }, { expect = "^250-STARTTLS" }, { send = "STARTTLS\r" }, { expect = "^220" }, { starttls = true }, { send = "QUIT\r" }]

[modules.smtp_starttls.tcp.tls_config]
server_name = "mail.example.com"

[modules.redis]
prober = "tcp"

[modules.redis.tcp]
tls = true
query_response = [{ send = "PING" }, { expect_bytes = "+PONG" }]
"#
    );
}

#[test]
fn dns_validation_rules_become_sub_tables() {
    let yaml = "
modules:
  dns_udp:
    prober: dns
    timeout: 5s
    dns:
      query_name: www.prometheus.io
      query_type: A
      query_class: IN
      transport_protocol: udp
      recursion_desired: false
      valid_rcodes: [NOERROR, NXDOMAIN]
      validate_answer_rrs:
        fail_if_matches_regexp: ['.*127.0.0.1']
        fail_if_all_match_regexp: ['.*127.0.0.1']
        fail_if_not_matches_regexp: [\"www.prometheus.io.\\t300\\tIN\\tA\\t127.0.0.1\"]
        fail_if_none_matches_regexp: ['127.0.0.1']
      validate_authority_rrs:
        fail_if_matches_regexp: ['\\tSOA\\t']
      validate_additional_rrs:
        fail_if_matches_regexp: ['.*127.0.0.1']
      preferred_ip_protocol: ip4
      source_ip_address: 127.0.0.1
  dot:
    prober: dns
    dns:
      query_name: example.com
      dns_over_tls: true
      tls_config: {server_name: dns.example.net}
";
    assert_eq!(
        imported(yaml),
        r#"[modules.dns_udp]
prober = "dns"
timeout = "5s"

[modules.dns_udp.dns]
query_name = "www.prometheus.io"
query_type = "A"
query_class = "IN"
transport_protocol = "udp"
recursion_desired = false
valid_rcodes = ["NOERROR", "NXDOMAIN"]
preferred_ip_protocol = "ip4"
source_ip_address = "127.0.0.1"

[modules.dns_udp.dns.validate_answer_rrs]
fail_if_matches_regexp = [".*127.0.0.1"]
fail_if_all_match_regexp = [".*127.0.0.1"]
fail_if_not_matches_regexp = ["www.prometheus.io.\t300\tIN\tA\t127.0.0.1"]
fail_if_none_matches_regexp = ["127.0.0.1"]

[modules.dns_udp.dns.validate_authority_rrs]
fail_if_matches_regexp = ['\tSOA\t']

[modules.dns_udp.dns.validate_additional_rrs]
fail_if_matches_regexp = [".*127.0.0.1"]

[modules.dot]
prober = "dns"

# dns_over_tls without transport_protocol: outpost implies tcp; Blackbox fails every run of such a module.
[modules.dot.dns]
query_name = "example.com"
dns_over_tls = true

[modules.dot.dns.tls_config]
server_name = "dns.example.net"
"#
    );
}

#[test]
fn icmp_and_grpc_options() {
    let yaml = r#"
modules:
  icmp_ttl5:
    prober: icmp
    timeout: 5s
    icmp:
      ttl: 5
      payload_size: 1472
      dont_fragment: true
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      source_ip_address: 10.0.1.5
  grpc:
    prober: grpc
    grpc:
      service: shop.Cart
      tls: true
      tls_config: {server_name: cart.internal}
      preferred_ip_protocol: ip6
      metadata:
        x-tenant: [blue, green]
        authorization: [Bearer t0ken]
"#;
    assert_eq!(
        imported(yaml),
        r#"[modules.icmp_ttl5]
prober = "icmp"
timeout = "5s"

[modules.icmp_ttl5.icmp]
ttl = 5
payload_size = 1472
dont_fragment = true
preferred_ip_protocol = "ip4"
ip_protocol_fallback = false
source_ip_address = "10.0.1.5"

[modules.grpc]
prober = "grpc"

[modules.grpc.grpc]
service = "shop.Cart"
tls = true
preferred_ip_protocol = "ip6"
metadata = { x-tenant = ["blue", "green"], authorization = ["Bearer t0ken"] }  # inline secret, carried over from Blackbox's YAML: keep this file private (docs/configuration.md#secrets)

[modules.grpc.grpc.tls_config]
server_name = "cart.internal"
"#
    );
}

#[test]
fn tls_config_keeps_files_and_inline_pem() {
    let ca = include_str!("../../tests/testdata/configs/good/files/ca.pem");
    let cert = include_str!("../../tests/testdata/configs/good/files/client.pem");
    let key = include_str!("../../tests/testdata/configs/good/files/client.key");
    let yaml = format!(
        "modules:
  files:
    prober: http
    http:
      tls_config:
        ca_file: /etc/outpost/ca.pem
        cert_file: /etc/outpost/client.pem
        key_file: /etc/outpost/client.key
        server_name: api.internal
        insecure_skip_verify: false
        min_version: TLS12
        max_version: TLS13
  inline:
    prober: tcp
    tcp:
      tls: true
      tls_config:
        ca: |
{}        cert: |
{}        key: |
{}",
        indent(ca, 10),
        indent(cert, 10),
        indent(key, 10)
    );
    assert_eq!(
        imported(&yaml),
        format!(
            r#"[modules.files]
prober = "http"

[modules.files.http.tls_config]
ca_file = "/etc/outpost/ca.pem"
cert_file = "/etc/outpost/client.pem"
key_file = "/etc/outpost/client.key"
server_name = "api.internal"
insecure_skip_verify = false
min_version = "TLS12"
max_version = "TLS13"

[modules.inline]
prober = "tcp"

[modules.inline.tcp]
tls = true

[modules.inline.tcp.tls_config]
ca = '''
{ca}'''
cert = '''
{cert}'''
key = '''
{key}'''  # inline secret, carried over from Blackbox's YAML: better in key_file (docs/configuration.md#secrets)
"#
        )
    );
}

#[test]
fn defaults_and_blocks_without_effect_are_left_out_with_a_word() {
    let yaml = "
modules:
  plain:
    prober: http
    timeout: 0s
    http:
      preferred_ip_protocol: ''
      method:
    tcp:
      tls: true
";
    assert_eq!(
        imported(yaml),
        "# Blackbox's `timeout: 0s` (no module timeout) is left out: outpost's default is the same.\n\
         # Blackbox's `tcp` block of this http module is left out: it does not apply (Blackbox ignores it too).\n\
         [modules.plain]\nprober = \"http\"\n"
    );
}

#[test]
fn no_follow_redirects_wins_over_follow_redirects_as_in_blackbox() {
    for yaml in [
        "modules:\n  a:\n    prober: http\n    http: {no_follow_redirects: true, follow_redirects: true}\n",
        "modules:\n  a:\n    prober: http\n    http: {follow_redirects: true, no_follow_redirects: true}\n",
    ] {
        assert_eq!(
            imported(yaml),
            "[modules.a]\nprober = \"http\"\n\n[modules.a.http]\n\
             follow_redirects = false  # Blackbox's deprecated `no_follow_redirects: true`\n"
        );
    }
}

#[test]
fn scrape_config_targets_become_probes() {
    let blackbox =
        "modules:\n  http_2xx: {prober: http}\n  tcp_connect: {prober: tcp, timeout: 5s}\n";
    let prometheus = r#"
global: {scrape_interval: 30s, scrape_timeout: 20s}
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [http_2xx]}
    static_configs:
      - targets: [https://www.example.com/health, "https://www.example.com/health/"]
        labels: {env: prod, team: web}
      - targets: ["db.example.com:5432"]
        labels: {__param_module: tcp_connect}
"#;
    let text = translate(
        blackbox,
        Path::new("blackbox.yml"),
        Some(Scrape {
            file: Path::new("prometheus.yml"),
            job: "blackbox",
            text: prometheus,
        }),
    );
    let text = text.map_err(|e| e.to_string()).unwrap_or_else(|e| e);
    let probes = text.find("# Probes").map_or("", |i| &text[i..]);
    // The job scrapes every 30s with a 20s timeout: Blackbox runs 19.5s where
    // outpost's default would be 10s; tcp_connect's own 5s is the same in both.
    assert_eq!(
        probes,
        r#"# Probes from the static targets of job "blackbox" in prometheus.yml.
[[probes]]
name = "http_2xx-www.example.com/health"
module = "http_2xx"
target = "https://www.example.com/health"
interval = "30s"
timeout = "19500ms"  # as Blackbox: the scrape timeout 20s less --timeout-offset 0.5s (its default)
labels = { env = "prod", team = "web" }

[[probes]]
name = "http_2xx-www.example.com/health-2"
module = "http_2xx"
target = "https://www.example.com/health/"
interval = "30s"
timeout = "19500ms"  # as Blackbox: the scrape timeout 20s less --timeout-offset 0.5s (its default)
labels = { env = "prod", team = "web" }

[[probes]]
name = "tcp_connect-db.example.com:5432"
module = "tcp_connect"
target = "db.example.com:5432"
interval = "30s"
"#
    );
}

#[test]
fn scrape_config_problems_are_refused_where_written() {
    let blackbox = "modules:\n  http_2xx: {prober: http}\n";
    let refusals = |prometheus: &str| {
        refused_with(
            blackbox,
            Some(Scrape {
                file: Path::new("prometheus.yml"),
                job: "bb",
                text: prometheus,
            }),
        )
    };
    assert_eq!(
        refusals("scrape_configs:\n  - job_name: bb\n    static_configs: [{targets: [a]}]\n"),
        "prometheus.yml:2:5: scrape_configs[job_name=\"bb\"].metrics_path: the job scrapes \"/metrics\", \
         not Blackbox's /probe (hint: give the job that scrapes Blackbox (metrics_path: /probe))"
    );
    assert_eq!(
        refusals(
            "scrape_configs:\n  - job_name: bb\n    metrics_path: /probe\n    params:\n      module: [tcp]\n      hostname: [x]\n    static_configs:\n      - targets: [a]\n        labels: {instance: x}\n"
        ),
        "prometheus.yml:6:7: scrape_configs[job_name=\"bb\"].params.hostname: outpost's [[probes]] have no \
         equivalent of /probe's `hostname` parameter (hint: a scheduled probe takes only a module and a target)\n\
         prometheus.yml:5:16: scrape_configs[job_name=\"bb\"].params.module: module \"tcp\" is not defined in \
         the Blackbox configuration (hint: its modules: http_2xx)"
    );
    // What `outpost check` refuses is placed at the YAML it came from.
    assert_eq!(
        refusals(
            "scrape_configs:\n  - job_name: bb\n    metrics_path: /probe\n    static_configs:\n      - targets: [a]\n        labels: {instance: x}\n"
        ),
        "prometheus.yml:6:18: probes[0].labels.instance: label name \"instance\" is reserved \
         (hint: Prometheus sets it when it scrapes outpost; choose another name)"
    );
}

#[test]
fn what_outpost_lacks_is_refused_with_its_key_and_line() {
    let yaml = "modules:
  ws:
    prober: websocket
  foo:
    prober: http
    timout: 5s
    http:
      bar: 1
      proxy_url: socks5://proxy:1080
      preferred_ip_protocol: ipv6
      tls_config:
        ca_ref: vault-ca
      oauth2:
        client_id: x
        token_url: http://t/
        grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer
        client_certificate_key: k
";
    assert_eq!(
        refused(yaml),
        "blackbox.yml:3:13: modules.ws.prober: outpost has no equivalent of Blackbox's `websocket` prober \
         (hint: not supported yet; outpost's probers: http, tcp, unix, dns, grpc, icmp, mysql, postgres)
blackbox.yml:6:5: modules.foo.timout: unknown key `timout` (hint: did you mean `timeout`?)
blackbox.yml:8:7: modules.foo.http.bar: unknown key `bar` (hint: neither outpost nor Blackbox 0.28 has it \
(docs/configuration.md lists every option))
blackbox.yml:9:18: modules.foo.http.proxy_url: outpost has no equivalent of Blackbox's socks5 proxies \
(hint: not supported yet: use an http:// or https:// proxy)
blackbox.yml:10:30: modules.foo.http.preferred_ip_protocol: Blackbox reads preferred_ip_protocol \"ipv6\" \
as \"ip4\" (anything but \"ip6\" is ip4 there) (hint: write \"ip4\" or \"ip6\": outpost takes only these)
blackbox.yml:12:9: modules.foo.http.tls_config.ca_ref: outpost has no equivalent of Blackbox's `ca_ref` \
(hint: secret-manager references exist only in Go programs embedding prometheus/common; give the value \
inline, as a file (`_file`) or, for credentials, in an environment variable (`_env`))
blackbox.yml:16:21: modules.foo.http.oauth2.grant_type: outpost has no equivalent of Blackbox's \
`grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer` (hint: outpost's oauth2 is the \
client_credentials grant only (client_id and client_secret sent to token_url); the JWT-bearer grant is \
not supported)
blackbox.yml:17:9: modules.foo.http.oauth2.client_certificate_key: outpost has no equivalent of \
Blackbox's `client_certificate_key` (hint: outpost's oauth2 is the client_credentials grant only \
(client_id and client_secret sent to token_url); the JWT-bearer grant is not supported)"
    );
}

#[test]
fn what_outpost_check_refuses_is_placed_at_its_yaml_line() {
    let yaml = "modules:
  d:
    prober: dns
    dns:
      query_name: example.com
      query_type: LOC
  t:
    prober: tcp
    tcp:
      tls_config: {max_version: TLS11}
      query_response:
        - expect: '('
";
    assert_eq!(
        refused(yaml),
        "blackbox.yml:6:7: modules.d.dns.query_type: invalid query type \"LOC\" (hint: write a type in upper \
         case, e.g. A, AAAA, CNAME, MX, NS, SOA, TXT, SRV, PTR, CAA or ANY)
blackbox.yml:12:11: modules.t.tcp.query_response[0].expect: invalid regular expression \"(\": unclosed group
blackbox.yml:10:20: modules.t.tcp.tls_config.max_version: TLS 1.0 and 1.1 cannot be negotiated (hint: \
outpost's TLS library (rustls) speaks TLS 1.2 and 1.3 only; use TLS12 or TLS13)"
    );
}

#[test]
fn refusals_never_show_a_secret() {
    let yaml = "modules:
  a:
    prober: http
    http:
      basic_auth: {username: u, password: [hunter2]}
  b:
    prober: http
    http:
      bearer_token: \"hunter2\\nhunter2\"
      headers: {Authorization: \"Bearer hunter2\\n\"}
  c:
    prober: http
    http:
      authorization: {type: Basic, credentials: hunter2}
";
    let text = refused(yaml);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("modules.a.http.basic_auth.password: must be a single value, not a list"),
        "{text}"
    );
}

#[test]
fn missing_prober_and_bad_values_are_refused() {
    assert_eq!(
        refused("modules:\n  a:\n    timeout: 5x\n  b:\n    prober: ftp\n  c:\n    prober: icmp\n    icmp: {ttl: many}\n"),
        "blackbox.yml:2:3: modules.a: missing `prober` (hint: valid probers: http, tcp, unix, dns, grpc, icmp, mysql, postgres)
blackbox.yml:3:14: modules.a.timeout: invalid duration \"5x\": expected e.g. \"15s\", \"500ms\", \"1m30s\"
blackbox.yml:5:13: modules.b.prober: invalid prober \"ftp\" (Blackbox refuses it too) (hint: outpost's \
probers: http, tcp, unix, dns, grpc, icmp, mysql, postgres)
blackbox.yml:8:17: modules.c.icmp.ttl: must be an integer, not a string"
    );
    assert_eq!(
        refused("modules: [a]\n"),
        "blackbox.yml:1:10: modules: must be a mapping, not a list"
    );
    assert_eq!(
        refused("- a\n"),
        "blackbox.yml:1:1: the document must be a mapping, not a list"
    );
    assert_eq!(
        refused("modules:\n  a: {prober: http\n"),
        "blackbox.yml:2:6: unclosed bracket '{'"
    );
}

#[test]
fn an_empty_file_imports_as_no_modules() {
    let text = translate("# nothing yet\n", Path::new("blackbox.yml"), None);
    assert!(
        text.as_ref()
            .is_ok_and(|t| t.lines().all(|l| l.starts_with('#'))),
        "{text:?}"
    );
}
