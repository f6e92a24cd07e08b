//! [`AppFilter`]: which rows a worker serves (its `application` list or
//! `*`), parsed from a configuration and turned into the SQL condition a
//! claim uses.

use super::OutboxDb;

/// The application filter of a worker: `*` (every row) or a list of names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppFilter {
    All,
    Only(Vec<String>),
}

impl AppFilter {
    /// `App1`, `App1, App2` or `*`.
    pub fn parse(s: &str) -> AppFilter {
        let parts: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if parts.is_empty() || parts.iter().any(|p| p == "*") {
            AppFilter::All
        } else {
            AppFilter::Only(parts)
        }
    }
}

impl OutboxDb {
    /// The `application` condition for a filter, with its binds starting at
    /// placeholder `start`.
    pub(super) fn app_condition(&self, filter: &AppFilter, start: usize) -> (String, Vec<String>) {
        match filter {
            AppFilter::All => ("1 = 1".to_string(), Vec::new()),
            AppFilter::Only(apps) => (
                format!("application IN ({})", self.dialect.phs(start, apps.len())),
                apps.clone(),
            ),
        }
    }
}
