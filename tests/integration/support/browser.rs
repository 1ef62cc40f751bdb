//! A real browser: Debian's Chromium, headless, loads a page and hands back the
//! DOM it built (`--dump-dom`), bounded by a timeout and killed if the test
//! ends first; and the text of that DOM as a person reads it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long Chromium gets to start, load the page and print its DOM (about 2 s
/// on 2 cores).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Kills the browser if the test ends (or panics) before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The DOM Chromium built from `url`, serialized. JavaScript stays on, as in
/// any browser: the page has none to run. Polled, not waited on, so the daemon
/// under test keeps serving on this runtime meanwhile.
pub(crate) async fn dump_dom(url: &str) -> String {
    // A profile of its own: parallel tests never share one, nothing is left behind.
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("dom.html"), dir.path().join("log"));
    let child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .args(["--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "chromium not found ({e}); install it with `make deps` \
                 (scripts/install-test-deps.sh) or `apt-get install chromium`"
            )
        });
    let mut running = Running(child);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromium did not print {url}'s DOM within {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let dom = std::fs::read_to_string(&out_path).unwrap();
    let log = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{log}"
    );
    assert!(
        dom.contains("</html>"),
        "no DOM from chromium for {url}:\n{dom}\n{log}"
    );
    dom
}

/// The text a person sees in `dom`: no head, no tooltips (SVG `<title>`), no
/// tags; a line per row, paragraph or line break, ` | ` between table cells.
pub(crate) fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body>").map_or(dom, |(_, b)| b);
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or_default();
        rest = &rest[start + end + 1..];
        match name {
            // A tooltip or a suggestion list: not on the screen.
            "title" | "datalist" if !tag.starts_with('/') => {
                let close = format!("</{name}>");
                rest = rest.split_once(close.as_str()).map_or("", |(_, r)| r);
            }
            // A closed drop-down shows its chosen option only: `[all]`.
            "select" if !tag.starts_with('/') => {
                let (options, after) = rest.split_once("</select>").unwrap_or((rest, ""));
                let mut options = options.split("<option").skip(1);
                let chosen = options
                    .clone()
                    .find(|o| {
                        o.split_once('>')
                            .is_some_and(|(a, _)| a.contains("selected"))
                    })
                    .or_else(|| options.next())
                    .and_then(|o| o.split_once('>'))
                    .map_or("", |(_, t)| t.split('<').next().unwrap_or_default());
                text.push_str(&format!("[{chosen}]"));
                rest = after;
            }
            "tr" | "p" | "br" | "div" | "h1" | "h2" | "h3" | "caption" | "nav" | "form"
                if !tag.starts_with('/') =>
            {
                text.push('\n');
            }
            "td" | "th" if tag.starts_with('/') => text.push_str(" | "),
            _ => {}
        }
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
