//! Percentiles of measured durations, the one summary every scenario prints.
//!
//! Nearest-rank, like the ledger's own summary, so that figures from both agree. It never
//! interpolates: every number printed is one that was measured.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of_durations(samples: &[Duration]) -> Percentiles {
        let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        Percentiles::of_ms(ms)
    }

    pub fn of_nanos(samples: &[i64]) -> Percentiles {
        Percentiles::of_ms(samples.iter().map(|ns| *ns as f64 / 1e6).collect())
    }

    pub fn of_ms(mut ms: Vec<f64>) -> Percentiles {
        if ms.is_empty() {
            return Percentiles::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Percentiles { count: ms.len(), p50_ms: at(0.50), p99_ms: at(0.99), max_ms: ms[ms.len() - 1] }
    }
}

/// `a / b`, or 0 when `b` is 0 (a scenario with no samples).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_a_hundred_values() {
        let p = Percentiles::of_ms((1..=100).map(f64::from).collect());
        assert_eq!((p.count, p.p50_ms, p.p99_ms, p.max_ms), (100, 50.0, 99.0, 100.0));
        assert_eq!(Percentiles::of_ms(vec![]).count, 0);
    }
}
