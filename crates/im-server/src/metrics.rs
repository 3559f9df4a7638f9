//! What the server measures about itself, for the admin listener's `GET /metrics` (Prometheus
//! text format, through the `metrics` facade and its Prometheus exporter). Each server owns its
//! own registry (no process-wide recorder), so servers started side by side in one test process
//! keep their figures apart. Updating a figure is a relaxed atomic add.

use std::sync::atomic::{AtomicU64, Ordering};

use im_proto::ErrorCode;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds of the commit latency and checkpoint duration buckets, in seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Upper bounds of the commit batch size buckets, in commands.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// No such account, or the wrong password.
    WrongCredentials,
    /// Refused without checking: too many failures before.
    Throttled,
    /// The right password for a disabled account.
    Disabled,
}

/// The server's figures.
pub struct Metrics {
    prometheus: PrometheusHandle,
    /// Error replies by code: counted here too, for [`Metrics::errors`].
    error_counts: Vec<AtomicU64>,
    errors: Vec<Counter>,
    resend_count: AtomicU64,
    resends: Counter,
    sign_in_failures: [Counter; 3],
    /// Messages committed (resends not counted).
    pub messages_stored: Counter,
    /// Event frames queued for connections right after a commit.
    pub deliveries: Counter,
    /// `sync_needed` events sent (a node missed batches of the others, or lost NATS).
    pub sync_needed: Counter,
    /// Commands per write transaction.
    pub commit_batch: Histogram,
    /// How long a write transaction took, from its first statement to its answers.
    pub commit_seconds: Histogram,
    /// How long one pass of copying the write-ahead log into the database took.
    pub checkpoint_seconds: Histogram,
    /// Connections open (TCP accepted, until closed).
    pub connections_open: Gauge,
    /// Connections accepted.
    pub connections_accepted: Counter,
    /// TLS handshakes completed: full and resumed.
    pub tls_handshakes: [Counter; 2],
    /// Signed-in connections (set when scraped).
    pub sessions_online: Gauge,
    /// Commands waiting for the writer (set when scraped).
    pub writer_queue: Gauge,
    /// Accounts and stored sessions (set when scraped, from the database).
    pub accounts: Gauge,
    pub sessions_stored: Gauge,
    /// Accounts created.
    pub sign_ups: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// An open connection, counted in `im_connections_open` until dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Registers metrics on one recorder, with their help texts.
struct Registry(metrics_exporter_prometheus::PrometheusRecorder);

impl Registry {
    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(
            name,
            labels
                .iter()
                .map(|(k, v)| Label::new(*k, *v))
                .collect::<Vec<_>>(),
        )
    }

    fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &'static str)],
    ) -> Counter {
        self.0
            .describe_counter(KeyName::from(name), None, SharedString::from(help));
        self.0
            .register_counter(&Self::key(name, labels), &metadata())
    }

    fn gauge(&self, name: &'static str, help: &'static str) -> Gauge {
        self.0
            .describe_gauge(KeyName::from(name), None, SharedString::from(help));
        self.0.register_gauge(&Self::key(name, &[]), &metadata())
    }

    fn histogram(&self, name: &'static str, help: &'static str) -> Histogram {
        self.0
            .describe_histogram(KeyName::from(name), None, SharedString::from(help));
        self.0
            .register_histogram(&Self::key(name, &[]), &metadata())
    }
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()))
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("im_commit_batch_size".into()),
                    BATCH_BUCKETS,
                )
            })
            .expect("non-empty buckets")
            .build_recorder();
        let prometheus = recorder.handle();
        let r = Registry(recorder);
        let errors = ErrorCode::ALL
            .iter()
            .map(|code| {
                r.counter(
                    "im_errors_total",
                    "Error replies sent to clients, by code.",
                    &[("code", code.as_str())],
                )
            })
            .collect();
        let sign_in_failure = |reason| {
            r.counter(
                "im_sign_in_failures_total",
                "Failed sign-ins, by reason.",
                &[("reason", reason)],
            )
        };
        let tls_handshake = |kind| {
            r.counter(
                "im_tls_handshakes_total",
                "TLS handshakes completed, full or resumed.",
                &[("kind", kind)],
            )
        };
        Self {
            error_counts: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            errors,
            resend_count: AtomicU64::new(0),
            resends: r.counter(
                "im_resends_total",
                "Sends answered with the message already stored under their client id.",
                &[],
            ),
            sign_in_failures: [
                sign_in_failure("wrong_credentials"),
                sign_in_failure("throttled"),
                sign_in_failure("disabled"),
            ],
            messages_stored: r.counter(
                "im_messages_stored_total",
                "Messages committed (resends not counted).",
                &[],
            ),
            deliveries: r.counter(
                "im_deliveries_total",
                "Event frames queued for connections after a commit.",
                &[],
            ),
            sync_needed: r.counter(
                "im_sync_needed_total",
                "sync_needed events sent: this node missed other nodes' batches or lost NATS.",
                &[],
            ),
            commit_batch: r.histogram(
                "im_commit_batch_size",
                "Commands per write transaction (group commit).",
            ),
            commit_seconds: r.histogram(
                "im_commit_seconds",
                "Time to apply, commit and answer one write transaction.",
            ),
            checkpoint_seconds: r.histogram(
                "im_checkpoint_seconds",
                "Time of one pass copying the write-ahead log into the database.",
            ),
            connections_open: r.gauge("im_connections_open", "Connections open."),
            connections_accepted: r.counter(
                "im_connections_accepted_total",
                "Connections accepted.",
                &[],
            ),
            tls_handshakes: [tls_handshake("full"), tls_handshake("resumed")],
            sessions_online: r.gauge("im_sessions_online", "Signed-in connections."),
            writer_queue: r.gauge(
                "im_writer_queue_depth",
                "Write commands waiting for the writer.",
            ),
            accounts: r.gauge("im_accounts", "Accounts in the database."),
            sessions_stored: r.gauge(
                "im_sessions_stored",
                "Sessions (signed-in devices) in the database.",
            ),
            sign_ups: r.counter("im_sign_ups_total", "Accounts created.", &[]),
            prometheus,
        }
    }
}

impl Metrics {
    /// Counts one error reply.
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.error_counts[i].fetch_add(1, Ordering::Relaxed);
            self.errors[i].increment(1);
        }
    }

    /// Error replies with `code` so far.
    pub fn errors(&self, code: ErrorCode) -> u64 {
        ErrorCode::ALL
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.error_counts[i].load(Ordering::Relaxed))
    }

    /// Counts a `send_text` answered with the message already stored under its client id.
    pub fn resend(&self) {
        self.resend_count.fetch_add(1, Ordering::Relaxed);
        self.resends.increment(1);
    }

    /// Resends answered with their original so far.
    pub fn resends(&self) -> u64 {
        self.resend_count.load(Ordering::Relaxed)
    }

    /// Counts a failed sign-in.
    pub fn sign_in_failed(&self, why: SignInFailure) {
        self.sign_in_failures[why as usize].increment(1);
    }

    /// Counts a completed TLS handshake.
    pub fn tls_handshake(&self, resumed: bool) {
        self.tls_handshakes[usize::from(resumed)].increment(1);
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection {
        self.connections_accepted.increment(1);
        self.connections_open.increment(1.0);
        OpenConnection(self.connections_open.clone())
    }

    /// Everything in Prometheus text format.
    pub fn render(&self) -> String {
        self.prometheus.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_rendered_in_prometheus_text_format_per_server() {
        let a = Metrics::default();
        let b = Metrics::default();
        a.error(ErrorCode::NotMember);
        a.error(ErrorCode::NotMember);
        a.messages_stored.increment(5);
        a.commit_seconds.record(0.003);
        a.commit_batch.record(40.0);
        a.sign_in_failed(SignInFailure::Throttled);
        let text = a.render();
        assert!(text.contains("# TYPE im_errors_total counter"), "{text}");
        assert!(
            text.contains("im_errors_total{code=\"not_member\"} 2"),
            "{text}"
        );
        assert!(text.contains("im_messages_stored_total 5"), "{text}");
        assert!(
            text.contains("im_commit_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("im_commit_seconds_bucket{le=\"0.002\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("im_commit_batch_size_bucket{le=\"64\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("im_sign_in_failures_total{reason=\"throttled\"} 1"),
            "{text}"
        );
        assert_eq!(a.errors(ErrorCode::NotMember), 2);
        // The other server's figures are its own.
        assert!(b.render().contains("im_messages_stored_total 0"));
        assert_eq!(b.errors(ErrorCode::NotMember), 0);
    }
}
