//! Packet-delivery traces in the Mahimahi (`mm-link`) format, to replay recorded
//! links (cellular above all) as the bottleneck of a [`Link`](super::Link).
//!
//! # Format
//!
//! A text file with one line per *delivery opportunity*:
//!
//! - Each line holds one timestamp: whole milliseconds since the trace start, an
//!   unsigned decimal integer (ASCII digits only; spaces or tabs around it and a
//!   `\r` before the newline are ignored).
//! - Each opportunity lets the link send 1500 bytes ([`OPPORTUNITY_BYTES`]). Byte
//!   accounting as in mahimahi: the opportunity's bytes go to the packet at the
//!   head of the queue, then to the next one, so several small packets can leave
//!   in one opportunity, and a packet larger than what is left takes bytes from the
//!   following opportunities (it leaves with the opportunity that completes it).
//!   Bytes nobody is waiting for are lost: an idle link saves nothing up.
//! - A timestamp repeats when more than one opportunity falls in that millisecond
//!   (a file holding `1` three times is 36 Mbit/s).
//! - Timestamps never decrease; there is at least one; the last one is non-zero.
//! - The trace loops: its period is the last timestamp, so the opportunity at
//!   `t` in the file also happens at `t + period`, `t + 2·period`... A file
//!   holding just `1` is one opportunity every millisecond: 12 Mbit/s.
//!
//! Two extensions to mahimahi, which reads nothing but numbers: **blank lines**
//! (or lines of only whitespace) are skipped, and so are **comment lines** whose
//! first non-blank character is `#`. A comment after a number on the same line is
//! an error. Line numbers in errors count every line of the file, from 1.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Bytes one delivery opportunity carries: one 1500-byte MTU, as in mahimahi.
pub const OPPORTUNITY_BYTES: usize = 1500;

/// A parsed packet-delivery trace. Cheap to clone (the timestamps are shared).
///
/// Opportunities are numbered from 0 across loops: number `n` is line
/// `n % len` of loop `n / len`, at `(n / len)·period + timestamp` ms from the
/// trace start. All times here are measured from the trace start; a link adds the
/// moment its trace started.
///
/// `Debug` and `Serialize` show a summary (opportunity count, period, mean rate)
/// rather than thousands of timestamps, since link configs end up in logs and
/// reports; `PartialEq` compares the timestamps.
#[derive(Clone, PartialEq)]
pub struct DeliveryTrace {
    /// Opportunity times in ms from the trace start, non-decreasing, last > 0.
    timestamps: Arc<[u64]>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("line {line}: {text:?} is not a timestamp (whole milliseconds, digits only)")]
    NotANumber { line: usize, text: String },
    #[error(
        "line {line}: timestamp {timestamp} ms is less than {previous} ms on line {previous_line}; \
         timestamps never decrease"
    )]
    Decreasing {
        line: usize,
        timestamp: u64,
        previous: u64,
        previous_line: usize,
    },
    #[error("empty trace: no timestamps, a trace needs at least one delivery opportunity")]
    Empty,
    #[error("line {line}: the last timestamp is 0, but it is the trace's period (it loops) and must be > 0")]
    LastZero { line: usize },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The file was read but its text is not a valid trace.
    #[error("{}: {source}", path.display())]
    InFile { path: PathBuf, source: Box<TraceError> },
}

impl TraceError {
    /// The 1-based line the error is about, if it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            TraceError::NotANumber { line, .. }
            | TraceError::Decreasing { line, .. }
            | TraceError::LastZero { line } => Some(*line),
            TraceError::InFile { source, .. } => source.line(),
            TraceError::Empty | TraceError::Io { .. } => None,
        }
    }
}

impl DeliveryTrace {
    /// Parses the text of a trace file (see the [module docs](self) for the format).
    pub fn parse(text: &str) -> Result<DeliveryTrace, TraceError> {
        let mut timestamps = Vec::new();
        let mut previous: Option<(u64, usize)> = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let item = raw.trim();
            if item.is_empty() || item.starts_with('#') {
                continue;
            }
            let timestamp = item
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| item.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| TraceError::NotANumber {
                    line,
                    text: item.to_owned(),
                })?;
            if let Some((previous, previous_line)) = previous
                && timestamp < previous
            {
                return Err(TraceError::Decreasing {
                    line,
                    timestamp,
                    previous,
                    previous_line,
                });
            }
            previous = Some((timestamp, line));
            timestamps.push(timestamp);
        }
        match previous {
            None => Err(TraceError::Empty),
            Some((0, line)) => Err(TraceError::LastZero { line }),
            Some(_) => Ok(DeliveryTrace {
                timestamps: timestamps.into(),
            }),
        }
    }

    /// Reads and parses a trace file; errors name the file.
    pub fn load(path: &Path) -> Result<DeliveryTrace, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
            path: path.to_owned(),
            source,
        })?;
        DeliveryTrace::parse(&text).map_err(|source| TraceError::InFile {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// The timestamps as written (ms from the trace start), one per opportunity.
    pub fn timestamps(&self) -> &[u64] {
        &self.timestamps
    }

    /// Delivery opportunities in one period.
    pub fn opportunities(&self) -> usize {
        self.timestamps.len()
    }

    /// The period in ms: the last timestamp.
    pub fn period_ms(&self) -> u64 {
        *self.timestamps.last().expect("a trace is never empty")
    }

    /// The period, after which the trace repeats.
    pub fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms())
    }

    /// Long-run rate the trace offers, in bit/s: `opportunities · 1500 · 8` bits per
    /// period, rounded to the nearest bit/s.
    pub fn mean_rate_bps(&self) -> u64 {
        let bits_per_period = self.timestamps.len() as u128 * OPPORTUNITY_BYTES as u128 * 8;
        let period = u128::from(self.period_ms());
        let rate = (bits_per_period * 1000 + period / 2) / period;
        u64::try_from(rate).unwrap_or(u64::MAX)
    }

    /// When opportunity number `n` (0-based, counted across loops) happens, from
    /// the trace start.
    pub fn opportunity_time(&self, n: u64) -> Duration {
        let len = self.timestamps.len() as u64;
        let ms = u128::from(n / len) * u128::from(self.period_ms())
            + u128::from(self.timestamps[(n % len) as usize]);
        duration_from_ms(ms)
    }

    /// The number of the first opportunity at or after `t` (from the trace start).
    pub fn first_at_or_after(&self, t: Duration) -> u64 {
        let period = u128::from(self.period_ms());
        // Opportunities fall on whole milliseconds: the first one at or after `t`
        // is the first one at or after `t` rounded up to a millisecond.
        let ms = t.as_nanos().div_ceil(1_000_000);
        let (mut round, mut offset) = (ms / period, ms % period);
        if offset == 0 && round > 0 {
            // The previous loop's last timestamp (= period) lands exactly on `t`.
            round -= 1;
            offset = period;
        }
        let offset = u64::try_from(offset).expect("offset ≤ period, a u64");
        let mut index = self.timestamps.partition_point(|&ts| ts < offset) as u128;
        let len = self.timestamps.len() as u128;
        if index == len {
            round += 1;
            index = 0;
        }
        u64::try_from(round * len + index).unwrap_or(u64::MAX)
    }

    /// When the `n`-th opportunity at or after `t` happens (`n = 0` is the first
    /// one), from the trace start, looping as often as needed.
    pub fn nth_at_or_after(&self, t: Duration, n: u64) -> Duration {
        self.opportunity_time(self.first_at_or_after(t).saturating_add(n))
    }

    /// The opportunities at or after `t`, in order, forever (the trace loops).
    pub fn opportunities_from(&self, t: Duration) -> Opportunities {
        Opportunities {
            trace: self.clone(),
            next: self.first_at_or_after(t),
        }
    }
}

/// The opportunities of a trace from some time on, as `(number, time from the
/// trace start)`. Endless: the trace loops.
#[derive(Debug, Clone)]
pub struct Opportunities {
    trace: DeliveryTrace,
    next: u64,
}

impl Iterator for Opportunities {
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<Self::Item> {
        let n = self.next;
        self.next = n.checked_add(1)?;
        Some((n, self.trace.opportunity_time(n)))
    }
}

fn duration_from_ms(ms: u128) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl fmt::Debug for DeliveryTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryTrace")
            .field("opportunities", &self.opportunities())
            .field("period_ms", &self.period_ms())
            .field("mean_rate_bps", &self.mean_rate_bps())
            .finish()
    }
}

impl serde::Serialize for DeliveryTrace {
    /// A summary: `{ "opportunities": n, "period_ms": p, "mean_rate_bps": r }`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut summary = serializer.serialize_struct("DeliveryTrace", 3)?;
        summary.serialize_field("opportunities", &self.opportunities())?;
        summary.serialize_field("period_ms", &self.period_ms())?;
        summary.serialize_field("mean_rate_bps", &self.mean_rate_bps())?;
        summary.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn parse_err(text: &str) -> TraceError {
        match DeliveryTrace::parse(text) {
            Ok(trace) => panic!("{text:?} parsed as {trace:?}, want an error"),
            Err(e) => {
                println!("{text:?} -> {e}");
                e
            }
        }
    }

    #[test]
    fn parse_errors_name_the_line_and_the_problem() {
        let e = parse_err("1\n2\nabc\n4\n");
        assert!(
            matches!(&e, TraceError::NotANumber { line: 3, text } if text == "abc"),
            "{e:?}"
        );
        assert!(
            e.to_string().starts_with("line 3: \"abc\" is not a timestamp"),
            "{e}"
        );

        for bad in ["-5", "+5", "1.5", "5 # comment", "99999999999999999999999"] {
            let e = parse_err(&format!("1\n\n{bad}\n"));
            assert_eq!(e.line(), Some(3), "{bad:?}: {e:?}");
            assert!(matches!(e, TraceError::NotANumber { .. }), "{bad:?}: {e:?}");
        }

        let e = parse_err("1\n# a comment\n5\n4\n9\n");
        assert!(
            matches!(
                e,
                TraceError::Decreasing {
                    line: 4,
                    timestamp: 4,
                    previous: 5,
                    previous_line: 3
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("line 4: timestamp 4 ms is less than 5 ms on line 3"),
            "{e}"
        );

        for empty in ["", "\n\n", "# only a comment\n  \n"] {
            let e = parse_err(empty);
            assert!(matches!(e, TraceError::Empty), "{empty:?}: {e:?}");
            assert!(e.to_string().contains("empty trace"), "{e}");
        }

        let e = parse_err("0\n0\n\n# trailing comment\n");
        assert!(matches!(e, TraceError::LastZero { line: 2 }), "{e:?}");
        assert!(
            e.to_string().starts_with("line 2: the last timestamp is 0"),
            "{e}"
        );
    }

    #[test]
    fn parse_accepts_comments_blank_lines_crlf_and_repeats() {
        let trace = DeliveryTrace::parse("# header\r\n\r\n 0 \r\n1\r\n\t1\n  # indented comment\n3").unwrap();
        assert_eq!(trace.timestamps(), [0, 1, 1, 3]);
        assert_eq!(trace.period_ms(), 3);
        assert_eq!(trace.period(), 3 * MS);
        assert_eq!(trace.opportunities(), 4);
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("netsim-mahimahi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.mahi");
        std::fs::write(&path, "1\n2\nx2\n").unwrap();
        let e = DeliveryTrace::load(&path).unwrap_err();
        println!("{e}");
        assert_eq!(e.line(), Some(3));
        assert_eq!(
            e.to_string(),
            format!(
                "{}: line 3: \"x2\" is not a timestamp (whole milliseconds, digits only)",
                path.display()
            )
        );

        let good = dir.join("good.mahi");
        std::fs::write(&good, "1\n1\n2\n").unwrap();
        assert_eq!(
            DeliveryTrace::load(&good).unwrap(),
            DeliveryTrace::parse("1\n1\n2").unwrap()
        );

        let missing = dir.join("missing.mahi");
        let e = DeliveryTrace::load(&missing).unwrap_err();
        println!("{e}");
        assert!(matches!(e, TraceError::Io { .. }), "{e:?}");
        assert!(e.to_string().starts_with(&missing.display().to_string()), "{e}");
        assert_eq!(e.line(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mean_rate() {
        let rate = |text: &str| DeliveryTrace::parse(text).unwrap().mean_rate_bps();
        assert_eq!(rate("1"), 12_000_000);
        assert_eq!(rate("1\n1\n1"), 36_000_000);
        assert_eq!(rate("1\n1\n2"), 18_000_000);
        assert_eq!(rate("0\n3"), 8_000_000);
        assert_eq!(rate("1000"), 12_000);
        assert_eq!(rate("7"), 1_714_286); // 12 Mbit/s / 7, rounded
    }

    #[test]
    fn opportunity_times_loop() {
        // Opportunities at 1, 1, 2 | 3, 3, 4 | 5, 5, 6 ...
        let trace = DeliveryTrace::parse("1\n1\n2").unwrap();
        let times: Vec<_> = (0..9).map(|n| trace.opportunity_time(n)).collect();
        assert_eq!(times, [1, 1, 2, 3, 3, 4, 5, 5, 6].map(|ms| ms * MS));
        let from: Vec<_> = trace
            .opportunities_from(Duration::ZERO)
            .take(9)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(from, times);
        // Loop 1 000 000 starts at 2 000 000 ms; its first opportunity is 1 ms in.
        assert_eq!(trace.opportunity_time(3_000_000), Duration::from_secs(2000) + MS);
    }

    #[test]
    fn first_at_or_after_handles_boundaries() {
        // Opportunities at 0, 4, 10 | 10, 14, 20 | 20, 24, 30 ...
        let trace = DeliveryTrace::parse("0\n4\n10").unwrap();
        let cases = [
            (Duration::ZERO, 0),
            (Duration::from_nanos(1), 1),
            (4 * MS, 1),
            (4 * MS + Duration::from_nanos(1), 2),
            (10 * MS, 2), // the first loop's 10 comes before the second loop's 0 (= 10)
            (10 * MS + Duration::from_micros(1), 4),
            (14 * MS, 4),
            (15 * MS, 5),
            (20 * MS, 5),
            (21 * MS, 7),
        ];
        for (t, want) in cases {
            let n = trace.first_at_or_after(t);
            assert_eq!(n, want, "first at or after {t:?}");
            assert!(trace.opportunity_time(n) >= t);
            if n > 0 {
                assert!(
                    trace.opportunity_time(n - 1) < t,
                    "{t:?}: opportunity {} is not before",
                    n - 1
                );
            }
        }
        assert_eq!(trace.nth_at_or_after(15 * MS, 0), 20 * MS);
        assert_eq!(trace.nth_at_or_after(15 * MS, 1), 20 * MS);
        assert_eq!(trace.nth_at_or_after(15 * MS, 2), 24 * MS);
        assert_eq!(trace.nth_at_or_after(15 * MS, 3), 30 * MS);
        let from: Vec<_> = trace.opportunities_from(11 * MS).take(4).collect();
        assert_eq!(from, [(4, 14 * MS), (5, 20 * MS), (6, 20 * MS), (7, 24 * MS)]);
    }

    #[test]
    fn first_at_or_after_agrees_with_a_linear_scan() {
        let trace = DeliveryTrace::parse("0\n0\n3\n3\n3\n7\n8\n8").unwrap();
        let all: Vec<_> = (0..200).map(|n| trace.opportunity_time(n)).collect();
        for us in (0..50_000).step_by(250) {
            let t = Duration::from_micros(us);
            let want = all.iter().position(|&time| time >= t).unwrap() as u64;
            assert_eq!(trace.first_at_or_after(t), want, "at {t:?}");
        }
    }

    #[test]
    fn clone_shares_timestamps_and_debug_serialize_summarize() {
        let trace = DeliveryTrace::parse("1\n1\n2").unwrap();
        let copy = trace.clone();
        assert!(Arc::ptr_eq(&trace.timestamps, &copy.timestamps));
        assert_eq!(trace, copy);
        assert_ne!(trace, DeliveryTrace::parse("1\n2").unwrap());
        assert_eq!(
            serde_json::to_value(&trace).unwrap(),
            serde_json::json!({ "opportunities": 3, "period_ms": 2, "mean_rate_bps": 18_000_000 })
        );
        assert_eq!(
            format!("{trace:?}"),
            "DeliveryTrace { opportunities: 3, period_ms: 2, mean_rate_bps: 18000000 }"
        );
    }

    /// The traces shipped in `traces/`, with the mean rates `traces/README.md` states.
    #[test]
    fn shipped_traces_have_the_mean_rates_the_readme_states() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        for (file, period_ms, opportunities, rate) in [
            ("cellular-walk.mahi", 30_000, SHIPPED_WALK.0, SHIPPED_WALK.1),
            ("cellular-handoff-dip.mahi", 30_000, SHIPPED_DIP.0, SHIPPED_DIP.1),
        ] {
            let trace = DeliveryTrace::load(&dir.join(file)).unwrap();
            println!(
                "{file}: {} opportunities, period {} ms, mean {} bit/s, {} bytes",
                trace.opportunities(),
                trace.period_ms(),
                trace.mean_rate_bps(),
                std::fs::metadata(dir.join(file)).unwrap().len()
            );
            assert_eq!(trace.period_ms(), period_ms, "{file}: period");
            assert_eq!(trace.opportunities(), opportunities, "{file}: opportunities");
            assert_eq!(trace.mean_rate_bps(), rate, "{file}: mean rate");
            let row = format!("| `{file}` | {period_ms} ms | {opportunities} | {rate} bit/s |");
            assert!(readme.contains(&row), "traces/README.md lacks the row {row:?}");
        }
    }

    /// (opportunities, mean rate in bit/s) of the shipped traces.
    const SHIPPED_WALK: (usize, u64) = (4577, 1_830_800);
    const SHIPPED_DIP: (usize, u64) = (7008, 2_803_200);
}
