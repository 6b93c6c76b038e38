//! Latency histograms, run summaries and the one machine-readable result line
//! per run that `scripts/bench` parses (`result scenario=... key=value ...`),
//! so the script needs neither jq nor Python.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, up to 5 minutes, 3 significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 300_000_000, 3).expect("valid histogram bounds")
}

/// What one client (or the merge of all clients) saw.
pub struct Recorder {
    /// Latency of successful requests.
    pub latency: Histogram<u64>,
    /// Open loop only: latency from the actual send, without the client's own lateness.
    pub service: Histogram<u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: new_histogram(),
            service: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 300_000_000)
}

impl Recorder {
    pub fn ok(&mut self, latency: Duration) {
        self.ok += 1;
        let _ = self.latency.record(micros(latency));
    }

    pub fn ok_open_loop(&mut self, from_schedule: Duration, from_send: Duration) {
        self.ok(from_schedule);
        let _ = self.service.record(micros(from_send));
    }

    pub fn error(&mut self, what: impl Into<String>) {
        *self.errors.entry(what.into()).or_insert(0) += 1;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: Recorder) {
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Builds the result line: fixed keys first, then scenario-specific ones.
pub struct ResultLine {
    text: String,
}

impl ResultLine {
    pub fn new(scenario: &str) -> Self {
        ResultLine {
            text: format!("result scenario={scenario}"),
        }
    }

    pub fn field(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        // Values never contain spaces, so `key=value` splits on whitespace.
        let value = value.to_string().replace(char::is_whitespace, "_");
        let _ = write!(self.text, " {key}={value}");
        self
    }

    pub fn float(self, key: &str, value: f64) -> Self {
        self.field(key, format!("{value:.3}"))
    }

    /// Adds ok, errors, throughput and latency quantiles of `rec` over `elapsed`.
    pub fn summary(self, rec: &Recorder, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        self.field("ok", rec.ok)
            .field("errors", rec.error_count())
            .float("seconds", secs)
            .float("throughput", rec.ok as f64 / secs)
            .float("p50_ms", ms(&rec.latency, 0.50))
            .float("p90_ms", ms(&rec.latency, 0.90))
            .float("p99_ms", ms(&rec.latency, 0.99))
            .float("max_ms", rec.latency.max() as f64 / 1000.0)
    }

    pub fn print(self) {
        println!("{}", self.text);
    }
}

/// A human-readable report on stderr (stdout carries only the result line).
pub fn report(title: &str, rec: &Recorder, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{title}: {} ok in {secs:.2} s = {:.0}/s",
        rec.ok,
        rec.ok as f64 / secs
    );
    eprintln!(
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        ms(&rec.latency, 0.5),
        ms(&rec.latency, 0.9),
        ms(&rec.latency, 0.99),
        ms(&rec.latency, 0.999),
        rec.latency.max() as f64 / 1000.0
    );
    if !rec.service.is_empty() {
        eprintln!(
            "  from actual send (client lateness removed) ms: p50 {:.3}  p99 {:.3}",
            ms(&rec.service, 0.5),
            ms(&rec.service, 0.99)
        );
    }
    if rec.errors.is_empty() {
        eprintln!("  errors: none");
    } else {
        for (what, n) in &rec.errors {
            eprintln!("  error {what}: {n}");
        }
    }
}

/// Open-loop quantiles from the actual send, for the result line.
pub fn service_fields(line: ResultLine, rec: &Recorder) -> ResultLine {
    line.float("service_p50_ms", ms(&rec.service, 0.5))
        .float("service_p99_ms", ms(&rec.service, 0.99))
}

/// Parses `60s`, `500ms`, `2m` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 60s, 500ms or 2m"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("{s:?} must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn result_line_has_no_spaces_in_values() {
        let line = ResultLine::new("x").field("why", "endpoint missing");
        assert_eq!(line.text, "result scenario=x why=endpoint_missing");
    }
}
