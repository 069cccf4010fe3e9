//! A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every
//! line must be a `# HELP`, a `# TYPE` or a sample of a declared family, names and labels must
//! be well formed, values must parse, and histograms must be consistent (cumulative buckets,
//! a `+Inf` bucket equal to `_count`). Anything else is an error naming the line.

use std::collections::BTreeMap;

/// A sample's labels, sorted by name.
pub type Labels = Vec<(String, String)>;

/// Samples by name and sorted labels.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeMap<(String, Labels), f64>,
    pub types: BTreeMap<String, String>,
    pub help: BTreeMap<String, String>,
}

impl Exposition {
    /// The value of the sample `name` with exactly these labels (order does not matter).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> =
            labels.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
        labels.sort();
        self.samples.get(&(name.to_string(), labels)).copied()
    }

    /// The value, or 0 when the sample is absent (a counter never incremented is not shown).
    pub fn get_or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Parses `{a="x",b="y\"z"}` starting after the `{`; returns labels and the rest after `}`.
fn parse_labels(text: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label without '='")?;
        let name = rest[..eq].trim();
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("a label value without quotes")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    _ => return Err("a bad escape in a label value".into()),
                },
                Some((index, '"')) => break index,
                Some((_, c)) => value.push(c),
                None => return Err("an unterminated label value".into()),
            }
        };
        labels.push((name.to_string(), value));
        rest = &rest[end + 1..];
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err("labels not separated by ','".into());
        }
    }
}

/// The family a sample belongs to: histogram and summary samples carry a suffix.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(types.get(base).map(String::as_str), Some("histogram") | Some("summary")) {
                return Some(base);
            }
        }
    }
    None
}

pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    for (number, line) in text.lines().enumerate() {
        let fail = |message: String| format!("line {}: {message}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut parts = comment.trim_start().splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !valid_metric_name(name) {
                        return Err(fail("bad metric name".into()));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(fail(format!("unknown type {kind}")));
                    }
                    if exposition.types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(fail("a second TYPE for the same family".into()));
                    }
                }
                (Some("HELP"), Some(name), help) => {
                    if !valid_metric_name(name) {
                        return Err(fail("bad metric name".into()));
                    }
                    exposition.help.insert(name.to_string(), help.unwrap_or_default().to_string());
                }
                _ => {} // other comments are allowed
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| fail("a sample without a value".into()))?;
        let name = &line[..name_end];
        if !valid_metric_name(name) {
            return Err(fail("bad metric name".into()));
        }
        let (mut labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(after) => parse_labels(after).map_err(fail)?,
            None => (Vec::new(), &line[name_end..]),
        };
        let mut fields = rest.split_whitespace();
        let value = fields.next().and_then(parse_value).ok_or_else(|| fail("a bad value".into()))?;
        if let Some(timestamp) = fields.next() {
            timestamp.parse::<i64>().map_err(|_| fail("a bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(fail("trailing text".into()));
        }
        if family_of(name, &exposition.types).is_none() {
            return Err(fail("a sample before (or without) the TYPE of its family".into()));
        }
        labels.sort();
        if exposition.samples.insert((name.to_string(), labels), value).is_some() {
            return Err(fail("a duplicate sample".into()));
        }
    }
    check_histograms(&exposition)?;
    Ok(exposition)
}

fn check_histograms(exposition: &Exposition) -> Result<(), String> {
    for (family, kind) in &exposition.types {
        if kind != "histogram" {
            continue;
        }
        let bucket_name = format!("{family}_bucket");
        // Group buckets by their labels without `le`.
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for ((name, labels), value) in &exposition.samples {
            if *name != bucket_name {
                continue;
            }
            let le = labels.iter().find(|(key, _)| key == "le").ok_or(format!("{name} without le"))?;
            let bound = parse_value(&le.1).ok_or(format!("{name}: bad le {:?}", le.1))?;
            let rest: Vec<(String, String)> = labels.iter().filter(|(key, _)| key != "le").cloned().collect();
            series.entry(rest).or_default().push((bound, *value));
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            if buckets.windows(2).any(|pair| pair[1].1 < pair[0].1) {
                return Err(format!("{family}{labels:?}: buckets are not cumulative"));
            }
            let last = buckets.last().expect("at least one bucket");
            if last.0 != f64::INFINITY {
                return Err(format!("{family}{labels:?}: no +Inf bucket"));
            }
            let count = exposition
                .samples
                .get(&(format!("{family}_count"), labels.clone()))
                .ok_or(format!("{family}{labels:?}: no _count"))?;
            if *count != last.1 {
                return Err(format!(
                    "{family}{labels:?}: +Inf bucket {} differs from _count {count}",
                    last.1
                ));
            }
            if !exposition.samples.contains_key(&(format!("{family}_sum"), labels.clone())) {
                return Err(format!("{family}{labels:?}: no _sum"));
            }
        }
    }
    Ok(())
}

#[test]
fn the_reader_accepts_good_text_and_names_bad_lines() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"uote\"} 3\n\
                # TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n";
    let parsed = parse(good).unwrap();
    assert_eq!(parsed.get("a_total", &[("y", "q\"uote"), ("x", "1")]), Some(3.0));
    assert!(parse("a_total 1\n").unwrap_err().contains("before (or without) the TYPE"));
    assert!(parse("# TYPE a counter\na{x=1} 1\n").is_err());
    assert!(parse("# TYPE a counter\na one\n").is_err());
    assert!(parse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n").is_err());
    assert!(parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
        .is_err());
}
