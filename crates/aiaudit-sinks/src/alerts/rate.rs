//! Rate anomaly detection: events per bucket of event time against an exponentially weighted
//! mean and variance of the previous buckets, so the norm is learned rather than configured.
//!
//! Invariants:
//! - buckets are indices `time_ns / window_ns`; the current bucket only moves forward (a record
//!   stamped earlier than the current bucket counts in it: sealed times never decrease, so this
//!   only matters for foreign input, and must not rewind the learned state);
//! - a bucket closes when any observed record falls in a later bucket; the buckets skipped in
//!   between close with a count of zero, which is how a rate that drops to nothing is seen;
//! - the first bucket is discarded: the engine may have started in its middle, and a partial
//!   count would teach a false norm;
//! - every closed bucket updates the mean and variance, after it has been scored;
//! - the score is `(count - mean) / sqrt(max(var, mean) + 1)`: the variance never counts as less
//!   than a Poisson count's (see `close`).

use super::rules::RateSpec;

/// Beyond this many empty buckets in one gap, the rest are skipped: by then the zeros dominate
/// the averages for any practical alpha, and a long silence must not cost a long loop.
const MAX_EMPTY_BUCKETS: i64 = 10_000;

/// A closed bucket whose count deviated from the norm.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Anomaly {
    /// Start of the bucket, Unix nanoseconds.
    pub bucket_start_ns: i64,
    /// Events counted in it.
    pub count: u64,
    /// The EWMA mean of the buckets before it.
    pub mean: f64,
    /// `(count - mean) / sqrt(max(var, mean) + 1)`.
    pub score: f64,
}

/// The learned state of one rate rule.
#[derive(Debug, Clone, Default)]
pub(super) struct RateState {
    /// The open bucket's index, once a record has been seen.
    bucket: Option<i64>,
    /// Matching events counted in the open bucket.
    count: u64,
    /// Whether the open bucket is the first one (discarded when it closes).
    partial: bool,
    mean: f64,
    var: f64,
    /// Closed buckets folded into `mean` and `var`.
    learned: u64,
}

/// The bucket length in nanoseconds (at least 1).
pub(super) fn window_ns(spec: &RateSpec) -> i64 {
    // `as` saturates on overflow; rules.rs bounds window_s below at 1 ms.
    ((spec.window_s * 1e9).round() as i64).max(1)
}

impl RateState {
    /// Advances the clock to `time_ns`, closing buckets as needed, then counts the record if it
    /// `counts`. Returns the first anomalous bucket that closed, if any: one alert per record is
    /// enough to say the rate changed.
    pub(super) fn observe(
        &mut self,
        spec: &RateSpec,
        time_ns: i64,
        counts: bool,
    ) -> Option<Anomaly> {
        let window = window_ns(spec);
        let b = time_ns.div_euclid(window);
        let mut found = None;
        match self.bucket {
            None => {
                self.bucket = Some(b);
                self.partial = true;
            }
            Some(cur) if b > cur => {
                let count = std::mem::take(&mut self.count);
                found = self.close(spec, cur, window, count);
                let empty = (b - cur - 1).min(MAX_EMPTY_BUCKETS);
                for k in 1..=empty {
                    let a = self.close(spec, cur + k, window, 0);
                    if found.is_none() {
                        found = a;
                    }
                }
                self.bucket = Some(b);
            }
            Some(_) => {}
        }
        if counts {
            self.count += 1;
        }
        found
    }

    fn close(&mut self, spec: &RateSpec, bucket: i64, window: i64, count: u64) -> Option<Anomaly> {
        if std::mem::take(&mut self.partial) {
            return None;
        }
        let x = count as f64;
        let mut found = None;
        if self.learned > 0 && self.learned >= spec.warmup {
            // The variance is floored at the mean: counts of independent events vary at least
            // as a Poisson count does (variance = mean), while the EWMA variance of a few
            // similar buckets can shrink far below that and turn ordinary noise into a large
            // score (without the floor, 100 ± 10 per bucket false-alarms in about 1 run of 10
            // over 30 buckets). The +1 keeps a flat history near zero from alerting on one
            // event.
            let score = (x - self.mean) / (self.var.max(self.mean) + 1.0).sqrt();
            if score.abs() > spec.threshold {
                found = Some(Anomaly {
                    bucket_start_ns: bucket.saturating_mul(window),
                    count,
                    mean: self.mean,
                    score,
                });
            }
        }
        if self.learned == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            // Incremental EWMA mean and variance (West 1979 / Finch 2009).
            let diff = x - self.mean;
            let incr = spec.alpha * diff;
            self.mean += incr;
            self.var = (1.0 - spec.alpha) * (self.var + diff * incr);
        }
        self.learned += 1;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(warmup: u64) -> RateSpec {
        RateSpec {
            event_type: "x".into(),
            filter: None,
            window_s: 1.0,
            alpha: 0.3,
            threshold: 4.0,
            warmup,
        }
    }

    const S: i64 = 1_000_000_000;

    /// Feeds `counts[i]` events into second `i` and returns the anomalies.
    fn feed(st: &mut RateState, sp: &RateSpec, start: i64, counts: &[u64]) -> Vec<Anomaly> {
        let mut out = Vec::new();
        for (i, &c) in counts.iter().enumerate() {
            let t = (start + i as i64) * S;
            if c == 0 {
                continue;
            }
            for _ in 0..c {
                out.extend(st.observe(sp, t, true));
            }
        }
        out
    }

    #[test]
    fn first_bucket_is_discarded_and_warmup_is_respected() {
        let sp = spec(3);
        let mut st = RateState::default();
        // A huge partial first bucket, then a flat 10.
        assert!(feed(&mut st, &sp, 0, &[1000, 10, 10, 10, 10, 10, 10]).is_empty());
        assert_eq!(st.mean, 10.0);
        assert_eq!(st.learned, 5);
    }

    #[test]
    fn no_alert_during_warmup_even_for_a_jump() {
        let sp = spec(5);
        let mut st = RateState::default();
        // buckets learned before the jump bucket closes: 2 (< 5)
        assert!(feed(&mut st, &sp, 0, &[1, 10, 10, 500, 10]).is_empty());
    }

    #[test]
    fn jump_and_empty_gap_alert() {
        let sp = spec(2);
        let mut st = RateState::default();
        let a = feed(&mut st, &sp, 0, &[1, 10, 10, 10, 10, 50, 10]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].count, 50);
        assert_eq!(a[0].bucket_start_ns, 5 * S);
        assert!(a[0].score > 4.0);
    }

    #[test]
    fn drop_to_zero_is_seen_in_the_gap() {
        let sp = spec(2);
        let mut st = RateState::default();
        feed(&mut st, &sp, 0, &[1, 20, 20, 20, 20, 20]);
        // Seconds 6, 7, 8 are empty; a record at 9 closes 5 (normal) and the empties.
        let a = st.observe(&sp, 9 * S, false).expect("the drop");
        assert_eq!((a.count, a.bucket_start_ns), (0, 6 * S));
        assert!(a.score < -4.0);
        assert_eq!(a.mean, 20.0);
    }

    #[test]
    fn long_gap_is_bounded_and_time_never_rewinds() {
        let sp = spec(0);
        let mut st = RateState::default();
        feed(&mut st, &sp, 0, &[1, 5, 5]);
        let _ = st.observe(&sp, i64::MAX / 2, true);
        assert_eq!(st.learned, 2 + MAX_EMPTY_BUCKETS as u64);
        let before = st.bucket;
        let _ = st.observe(&sp, 0, true);
        assert_eq!(st.bucket, before);
        assert_eq!(st.count, 2);
    }

    #[test]
    fn a_flat_history_still_tolerates_poisson_noise() {
        // Variance 0 after a perfectly flat 100: the floor at the mean keeps +30 quiet (z ≈ 3)
        // while +50 (z ≈ 5) alerts.
        let sp = spec(3);
        let mut st = RateState::default();
        assert!(feed(&mut st, &sp, 0, &[1, 100, 100, 100, 100, 130, 1]).is_empty());
        let mut st = RateState::default();
        let a = feed(&mut st, &sp, 0, &[1, 100, 100, 100, 100, 150, 1]);
        assert_eq!(a.len(), 1);
        assert!((a[0].score - 50.0 / 101f64.sqrt()).abs() < 1e-9);
    }
}
