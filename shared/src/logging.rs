//! The functions' log subscriber. Our crates log at the level Lambda's logging configuration sets
//! (`AWS_LAMBDA_LOG_LEVEL`); every other crate is capped at DEBUG whatever that level, because at TRACE
//! lambda_runtime logs each raw event and the AWS SDK each request, bodies included, and a body is
//! personal data.

use std::cmp::min;
use std::str::FromStr;

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The crates whose logs follow the configured level: they never log a record or a message body. A target
/// matches by prefix, so a dependency whose name began with one of these would follow it too; none does.
pub const OWN_CRATES: [&str; 3] = ["shared", "producer", "consumer"];

/// The most any other crate may log.
pub const OTHER_CRATES_MAX: LevelFilter = LevelFilter::DEBUG;

/// What Lambda's logging configuration asks for: the level of `AWS_LAMBDA_LOG_LEVEL`, else of
/// `RUST_LOG` when it is a plain level, else INFO; JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    pub level: LevelFilter,
    pub json: bool,
}

impl LogConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
            .into_iter()
            .find_map(|name| lookup(name).and_then(|value| parse_level(value.trim())))
            .unwrap_or(LevelFilter::INFO);
        let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
        Self { level, json }
    }
}

/// A level as Lambda or `RUST_LOG` writes it; Lambda's FATAL is tracing's ERROR.
fn parse_level(text: &str) -> Option<LevelFilter> {
    if text.eq_ignore_ascii_case("fatal") {
        return Some(LevelFilter::ERROR);
    }
    LevelFilter::from_str(text).ok()
}

/// Our crates at `level`, every other crate at `level` but never more than [`OTHER_CRATES_MAX`].
pub fn filter(level: LevelFilter) -> Targets {
    OWN_CRATES.into_iter().fold(Targets::new().with_default(min(level, OTHER_CRATES_MAX)), |targets, name| {
        targets.with_target(name, level)
    })
}

/// A subscriber writing to `writer` as Lambda expects: no time stamp (Lambda adds one), no target.
pub fn subscriber<W>(config: LogConfig, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // The builder's own level (INFO unless set) would filter before the targets do.
    let format = tracing_subscriber::fmt()
        .with_max_level(config.level)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(writer);
    let filter = filter(config.level);
    if config.json { Box::new(format.json().finish().with(filter)) } else { Box::new(format.finish().with(filter)) }
}

/// Installs [`subscriber`] for the process, writing to standard error (standard output carries the
/// metrics documents and the command line's records).
pub fn init() -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    tracing::subscriber::set_global_default(subscriber(LogConfig::from_env(), std::io::stderr))
}

/// Log lines kept in memory, for tests of what a subscriber writes.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, Default)]
pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(any(test, feature = "testing"))]
impl CapturedLog {
    /// A writer for [`subscriber`] that appends here.
    pub fn writer(&self) -> impl Fn() -> Self + Send + Sync + 'static {
        let log = self.clone();
        move || log.clone()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(any(test, feature = "testing"))]
impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("a writer panicked"))?.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn config(pairs: &[(&str, &str)]) -> LogConfig {
        LogConfig::from_lookup(|name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string()))
    }

    #[test]
    fn lambdas_level_wins_and_a_directive_in_rust_log_falls_back_to_info() {
        assert_eq!(config(&[]), LogConfig { level: LevelFilter::INFO, json: false });
        let both =
            config(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("RUST_LOG", "warn"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
        assert_eq!(both, LogConfig { level: LevelFilter::TRACE, json: true });
        assert_eq!(config(&[("RUST_LOG", "warn")]).level, LevelFilter::WARN);
        assert_eq!(config(&[("RUST_LOG", "lambda_runtime=trace")]).level, LevelFilter::INFO);
        assert_eq!(config(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).level, LevelFilter::ERROR);
    }

    #[test]
    fn the_subscriber_logs_our_trace_and_caps_the_runtimes() {
        let captured = CapturedLog::default();
        let config = LogConfig { level: LevelFilter::TRACE, json: true };
        tracing::subscriber::with_default(subscriber(config, captured.writer()), || {
            tracing::trace!(target: "consumer::handler", "ours at trace");
            tracing::debug!(target: "lambda_runtime::runtime", "theirs at debug");
            tracing::trace!(target: "lambda_runtime::layers::api_response", "theirs at trace");
        });
        let log = captured.text();
        assert!(log.contains("ours at trace") && log.contains("theirs at debug"), "{log}");
        assert!(!log.contains("theirs at trace"), "{log}");
    }

    #[test]
    fn other_crates_never_log_below_debug() {
        let trace = filter(LevelFilter::TRACE);
        assert!(trace.would_enable("consumer::handler", &Level::TRACE));
        assert!(trace.would_enable("lambda_runtime::layers::api_response", &Level::DEBUG));
        assert!(!trace.would_enable("lambda_runtime::layers::api_response", &Level::TRACE));
        assert!(!trace.would_enable("aws_smithy_runtime::client::orchestrator", &Level::TRACE));
        assert!(!filter(LevelFilter::WARN).would_enable("aws_smithy_runtime", &Level::INFO));
    }
}
