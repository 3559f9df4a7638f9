//! What a run found: each check's outcome with the failure's details, what it observed on the
//! wire, and the summary; as text for people and as JSON for machines.

use std::collections::BTreeMap;
use std::time::Duration;

use im_proto::Limits;
use serde::Serialize;

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "details", rename_all = "snake_case")]
pub enum Outcome {
    /// Everything it checked was as documented.
    Passed,
    /// Something was not: the details say what, with the frames.
    Failed(String),
    /// It could not run against this server's limits (the reason says why).
    Skipped(String),
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's name, `area.what`.
    pub name: &'static str,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long it took.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
    /// What the check says it covers (`op:…`, `event:…`, `error:…`, `close:…`, `http:…`).
    pub covers: &'static [&'static str],
    /// What it saw on the wire, with counts, in the same vocabulary.
    pub observed: BTreeMap<String, u64>,
}

impl CheckResult {
    /// True when it passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// What it claims to cover but did not see happen.
    pub fn unobserved(&self) -> Vec<&'static str> {
        self.covers
            .iter()
            .copied()
            .filter(|c| !self.observed.contains_key(*c))
            .collect()
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server's URL.
    pub url: String,
    /// What the server called itself in `hello`.
    pub server: Option<String>,
    /// The limits it announced.
    pub limits: Option<Limits>,
    /// Every check run, in order.
    pub results: Vec<CheckResult>,
    /// How long the run took.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Report {
    /// True when every check that ran passed.
    pub fn success(&self) -> bool {
        self.results
            .iter()
            .all(|r| !matches!(r.outcome, Outcome::Failed(_)))
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// `N passed, N failed, N skipped of N checks in T`.
    pub fn summary(&self) -> String {
        let count = |f: fn(&Outcome) -> bool| self.results.iter().filter(|r| f(&r.outcome)).count();
        format!(
            "{} passed, {} failed, {} skipped of {} checks in {:.1} s against {}",
            count(|o| matches!(o, Outcome::Passed)),
            count(|o| matches!(o, Outcome::Failed(_))),
            count(|o| matches!(o, Outcome::Skipped(_))),
            self.results.len(),
            self.elapsed.as_secs_f64(),
            self.url
        )
    }

    /// One line for a check: `PASS  name  (12 ms)`, with a failure's first line.
    pub fn line(result: &CheckResult) -> String {
        let ms = result.elapsed.as_millis();
        match &result.outcome {
            Outcome::Passed => format!("PASS  {}  ({ms} ms)", result.name),
            Outcome::Skipped(why) => format!("SKIP  {}  ({ms} ms): {why}", result.name),
            Outcome::Failed(details) => format!(
                "FAIL  {}  ({ms} ms): {}",
                result.name,
                details.lines().next().unwrap_or_default()
            ),
        }
    }

    /// Every failure with all its details.
    pub fn failure_details(&self) -> String {
        let mut out = String::new();
        for failure in self.failures() {
            if let Outcome::Failed(details) = &failure.outcome {
                out.push_str(&format!("---- {} ----\n{details}\n\n", failure.name));
            }
        }
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &'static str, outcome: Outcome) -> CheckResult {
        CheckResult {
            name,
            outcome,
            elapsed: Duration::from_millis(5),
            covers: &["op:ping", "error:not_member"],
            observed: BTreeMap::from([("op:ping".to_owned(), 2)]),
        }
    }

    #[test]
    fn a_failure_fails_the_run_and_is_listed_with_its_details() {
        let report = Report {
            url: "ws://x/ws".into(),
            server: None,
            limits: None,
            results: vec![
                result("a.ok", Outcome::Passed),
                result("a.bad", Outcome::Failed("first line\nsecond line".into())),
                result("a.skip", Outcome::Skipped("limits".into())),
            ],
            elapsed: Duration::from_secs(1),
        };
        assert!(!report.success());
        assert_eq!(report.failures().len(), 1);
        assert!(report
            .summary()
            .starts_with("1 passed, 1 failed, 1 skipped of 3 checks"));
        assert_eq!(
            Report::line(&report.results[1]),
            "FAIL  a.bad  (5 ms): first line"
        );
        assert!(report.failure_details().contains("second line"));
        let json = report.to_json();
        assert_eq!(json["results"][1]["outcome"], "failed");
        assert_eq!(json["results"][1]["details"], "first line\nsecond line");
        assert_eq!(report.results[0].unobserved(), ["error:not_member"]);
    }
}
