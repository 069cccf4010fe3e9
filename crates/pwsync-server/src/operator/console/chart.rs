//! The console's chart: changes settled per time bucket (bars: applied, rejected) and the
//! median and 99th-percentile end-to-end latency (lines), as inline SVG — no script, no
//! library, readable on a phone.

use std::fmt::Write;

use crate::ledger::Bucket;

use super::html::esc;
use crate::when::{duration, timestamp};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 52.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 26.0;

pub fn svg(buckets: &[Bucket], bucket_label: &str) -> String {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let max_count =
        buckets.iter().map(|bucket| bucket.applied + bucket.rejected).max().unwrap_or(0).max(1) as f64;
    let max_latency =
        buckets.iter().filter_map(|bucket| bucket.p99_latency_ns).max().unwrap_or(0).max(1_000_000) as f64;
    let step = plot_width / buckets.len().max(1) as f64;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"Throughput and latency\" xmlns=\"http://www.w3.org/2000/svg\">\
<title>Changes settled per {} and end-to-end latency</title>",
        esc(bucket_label)
    );
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{x}\" y2=\"{y}\" stroke=\"#c3c8cf\"/>\
<text x=\"4\" y=\"{t}\" font-size=\"11\" fill=\"#137333\">{max_count:.0}</text>\
<text x=\"4\" y=\"{y}\" font-size=\"11\" fill=\"#137333\">0</text>\
<text x=\"{r}\" y=\"{t}\" font-size=\"11\" fill=\"#1f3a5f\">{lat}</text>",
        y = TOP + plot_height,
        x = WIDTH - RIGHT,
        t = TOP + 8.0,
        r = WIDTH - RIGHT + 4.0,
        lat = esc(&duration(max_latency as i64)),
    );
    let mut median = Vec::new();
    let mut p99 = Vec::new();
    for (index, bucket) in buckets.iter().enumerate() {
        let x = LEFT + index as f64 * step;
        let applied_height = bucket.applied as f64 / max_count * plot_height;
        let rejected_height = bucket.rejected as f64 / max_count * plot_height;
        let base = TOP + plot_height;
        if bucket.applied > 0 {
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{applied_height:.1}\" fill=\"#81c995\"><title>{}: {} applied</title></rect>",
                base - applied_height,
                (step - 1.0).max(1.0),
                esc(&timestamp(bucket.start_ns)),
                bucket.applied
            );
        }
        if bucket.rejected > 0 {
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{rejected_height:.1}\" fill=\"#f28b82\"><title>{}: {} rejected</title></rect>",
                base - applied_height - rejected_height,
                (step - 1.0).max(1.0),
                esc(&timestamp(bucket.start_ns)),
                bucket.rejected
            );
        }
        let center = x + step / 2.0;
        if let Some(latency) = bucket.p50_latency_ns {
            median.push(format!("{center:.1},{:.1}", base - latency as f64 / max_latency * plot_height));
        }
        if let Some(latency) = bucket.p99_latency_ns {
            p99.push(format!("{center:.1},{:.1}", base - latency as f64 / max_latency * plot_height));
        }
    }
    for (points, color, dash) in [(&median, "#1f3a5f", ""), (&p99, "#8ab4f8", " stroke-dasharray=\"4 3\"")] {
        if !points.is_empty() {
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
                points.join(" ")
            );
            if points.len() == 1 {
                let (x, y) = points[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(out, "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>");
            }
        }
    }
    if let (Some(first), Some(last)) = (buckets.first(), buckets.last()) {
        let _ = write!(
            out,
            "<text x=\"{LEFT}\" y=\"{HEIGHT}\" font-size=\"11\" fill=\"#5a6472\" dy=\"-6\">{}</text>\
<text x=\"{}\" y=\"{HEIGHT}\" font-size=\"11\" fill=\"#5a6472\" dy=\"-6\" text-anchor=\"end\">{}</text>",
            esc(&timestamp(first.start_ns)),
            WIDTH - RIGHT,
            esc(&timestamp(last.start_ns))
        );
    }
    out.push_str("</svg>");
    out
}
