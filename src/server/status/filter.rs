//! The status page's filters, from the query string: `state=up|down|pending` and
//! any number of `label=KEY:VALUE` (all must match). The same on `/` and
//! `/api/v1/status`; a parameter outpost does not know is refused, so a typo
//! does not quietly show everything.

use super::model::{ProbeStatus, State};
use super::text::query_value;

/// What to show. The default shows every probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Filter {
    pub(super) state: Option<State>,
    /// (key, value) pairs; `probe`, `module` and `target` match those fields,
    /// any other key the probe's static labels.
    pub(super) labels: Vec<(String, String)>,
}

/// A query string the filters cannot be read from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FilterError {
    #[error("unknown state {0:?}: use up, down or pending (or leave it empty for all)")]
    State(String),
    #[error("label filter {0:?} is not KEY:VALUE (e.g. service:web)")]
    Label(String),
    #[error("unknown parameter {0:?}: the filters are state and label")]
    Parameter(String),
}

impl Filter {
    /// Reads the filters of a request's query string (`None`: no query).
    /// Empty values, as a form submits for the fields left blank, filter nothing.
    pub(super) fn parse(query: Option<&str>) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
        for (key, value) in pairs {
            let value = value.trim();
            match &*key {
                "state" => {
                    filter.state = match value {
                        "" | "all" => None,
                        v => Some(State::parse(v).ok_or_else(|| FilterError::State(v.into()))?),
                    }
                }
                "label" if value.is_empty() => {}
                "label" => {
                    // A label name holds neither ':' nor '=': the first of them ends it.
                    let (k, v) = value
                        .split_once([':', '='])
                        .filter(|(k, _)| !k.trim().is_empty())
                        .ok_or_else(|| FilterError::Label(value.into()))?;
                    filter.labels.push((k.trim().into(), v.trim().into()));
                }
                other => return Err(FilterError::Parameter(other.into())),
            }
        }
        Ok(filter)
    }

    /// Whether `probe` has every label asked for (the state aside).
    pub(super) fn labels_match(&self, probe: &ProbeStatus) -> bool {
        self.labels.iter().all(|(k, v)| {
            let have = match k.as_str() {
                "probe" => Some(probe.name.as_str()),
                "module" => Some(probe.module.as_str()),
                "target" => Some(probe.target.as_str()),
                _ => probe
                    .labels
                    .iter()
                    .find(|(lk, _)| lk == k)
                    .map(|(_, lv)| lv.as_str()),
            };
            have == Some(v.as_str())
        })
    }

    /// Whether `probe` passes every filter.
    pub(super) fn matches(&self, probe: &ProbeStatus) -> bool {
        self.state.is_none_or(|s| s == probe.state) && self.labels_match(probe)
    }

    /// The query string of these label filters with `state` instead of this
    /// filter's: `?state=down&label=service%3Aweb`, or `?` for no filter at all
    /// (a link to `?` drops the query, whatever path the page is served under).
    pub(super) fn query_with_state(&self, state: Option<State>) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = state {
            parts.push(format!("state={}", s.as_str()));
        }
        for (k, v) in &self.labels {
            parts.push(format!("label={}", query_value(&format!("{k}:{v}"))));
        }
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Filter, FilterError> {
        Filter::parse(Some(q))
    }

    fn probe(name: &str, state: State, labels: &[(&str, &str)]) -> ProbeStatus {
        ProbeStatus {
            name: name.into(),
            module: "http_2xx".into(),
            target: format!("http://{name}/"),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            state,
            ..ProbeStatus::default()
        }
    }

    #[test]
    fn no_query_filters_nothing() {
        assert_eq!(Filter::parse(None), Ok(Filter::default()));
        assert_eq!(parse("state=&label="), Ok(Filter::default()));
        assert_eq!(parse("state=all"), Ok(Filter::default()));
    }

    #[test]
    fn state_and_labels_are_read_percent_decoded() {
        let f = parse("state=down&label=service%3Aweb&label=target_region=ap-east-1").unwrap();
        assert_eq!(f.state, Some(State::Down));
        assert_eq!(
            f.labels,
            [
                ("service".to_string(), "web".to_string()),
                ("target_region".to_string(), "ap-east-1".to_string())
            ]
        );
        // A value may hold ':' itself: only the first separator splits.
        let f = parse("label=target:http://a:8080/").unwrap();
        assert_eq!(f.labels, [("target".into(), "http://a:8080/".into())]);
    }

    #[test]
    fn mistakes_are_refused_with_the_way_out() {
        assert_eq!(
            parse("state=broken").unwrap_err().to_string(),
            "unknown state \"broken\": use up, down or pending (or leave it empty for all)"
        );
        assert_eq!(
            parse("label=web").unwrap_err().to_string(),
            "label filter \"web\" is not KEY:VALUE (e.g. service:web)"
        );
        assert_eq!(parse("label=:web"), Err(FilterError::Label(":web".into())));
        assert_eq!(
            parse("labels=service:web").unwrap_err().to_string(),
            "unknown parameter \"labels\": the filters are state and label"
        );
    }

    #[test]
    fn every_filter_must_match() {
        let web = probe("web", State::Down, &[("service", "web"), ("tier", "1")]);
        let db = probe("db", State::Up, &[("service", "db")]);
        let f = parse("label=service:web").unwrap();
        assert!(f.matches(&web) && !f.matches(&db));
        let f = parse("label=service:web&label=tier:2").unwrap();
        assert!(!f.matches(&web));
        let f = parse("state=up").unwrap();
        assert!(!f.matches(&web) && f.matches(&db));
        let f = parse("label=module:http_2xx&label=probe:db").unwrap();
        assert!(f.matches(&db) && !f.matches(&web));
        let f = parse("state=pending").unwrap();
        assert!(f.matches(&probe("new", State::Pending, &[])));
    }

    #[test]
    fn links_keep_the_label_filters() {
        let f = parse("state=up&label=service:web").unwrap();
        assert_eq!(
            f.query_with_state(Some(State::Down)),
            "?state=down&label=service%3Aweb"
        );
        assert_eq!(f.query_with_state(None), "?label=service%3Aweb");
        assert_eq!(Filter::default().query_with_state(None), "?");
    }
}
