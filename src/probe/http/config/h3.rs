//! `enable_http3`: Blackbox's combination rules, checked at load.
//!
//! HTTP/3 needs `enable_http2 = false`, `valid_http_versions` may list only
//! `HTTP/3.0`, and TLS 1.3 is the minimum (QUIC carries nothing older). A
//! `max_version` below 1.3 and a `proxy_url` (an http proxy cannot carry QUIC)
//! are refused as well.

use super::file::HttpFile;
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::config::TlsVersion;
use crate::probe::http::HttpModule;

/// The only `valid_http_versions` entry allowed with `enable_http3`.
const HTTP3: &str = "HTTP/3.0";

/// Sets `m.enable_http3` and checks what it requires (after `m.tls` and
/// `m.valid_http_versions` are built).
pub(super) fn build(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile, m: &mut HttpModule) {
    let Some(h3) = file.enable_http3.as_ref().filter(|h3| *h3.get_ref()) else {
        return;
    };
    let at = tree::key(path, "enable_http3");
    m.enable_http3 = true;
    if m.enable_http2 {
        ctx.error_hint(
            h3.span(),
            &at,
            "`enable_http3 = true` requires `enable_http2 = false`",
            "set `enable_http2 = false` in this table (as Blackbox requires)",
        );
    }
    let spans = file.valid_http_versions.iter().flatten();
    for (i, version) in spans.enumerate() {
        if version.get_ref() != HTTP3 {
            ctx.error_hint(
                version.span(),
                &tree::index(&tree::key(path, "valid_http_versions"), i),
                format!(
                    "{:?} can never be answered with `enable_http3 = true`",
                    version.get_ref()
                ),
                format!("with enable_http3, valid_http_versions may list only {HTTP3:?}"),
            );
        }
    }
    if m.tls.max_version.is_some_and(|v| v < TlsVersion::Tls13) {
        ctx.error_hint(
            h3.span(),
            &at,
            "`enable_http3 = true` needs TLS 1.3, but tls_config.max_version is lower",
            "remove tls_config.max_version or set it to \"TLS13\"",
        );
    }
    if let Some(proxy) = &file.proxy_url {
        ctx.error_hint(
            proxy.span(),
            &tree::key(path, "proxy_url"),
            "`proxy_url` cannot carry HTTP/3 (QUIC runs over UDP)",
            "remove proxy_url or enable_http3",
        );
    }
    // Blackbox forces the minimum to TLS 1.3 whatever min_version says.
    m.tls.min_version = Some(TlsVersion::Tls13);
}
