//! Reports: a terminal table, JSON (schema `hsmemu-conformance/1`, docs/conformance.md), JUnit
//! XML and a Markdown matrix. Every report ends with, or contains, the same counts.

use crate::cross::CrossResult;
use crate::runner::{Column, Outcome};
use crate::scenario::Scenario;
use serde_json::json;

/// Counts over every module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed.
    pub passed: usize,
    /// Failed (unexpected).
    pub failed: usize,
    /// Unsupported.
    pub skipped: usize,
    /// Known deviations.
    pub known: usize,
}

/// Counts the outcomes of `columns` and the cross-module results.
pub fn summary(columns: &[Column], cross: &[CrossResult]) -> Summary {
    let mut s = Summary::default();
    for o in columns
        .iter()
        .flat_map(|c| &c.outcomes)
        .chain(cross.iter().map(|c| &c.outcome))
    {
        match o {
            Outcome::Pass => s.passed += 1,
            Outcome::Fail(_) => s.failed += 1,
            Outcome::Unsupported(_) => s.skipped += 1,
            Outcome::KnownDeviation { .. } => s.known += 1,
        }
    }
    s
}

/// The closing line: `N passed, N failed, N skipped`.
pub fn closing_line(s: Summary) -> String {
    format!(
        "{} passed, {} failed, {} skipped",
        s.passed, s.failed, s.skipped
    )
}

fn detail(o: &Outcome) -> String {
    match o {
        Outcome::Pass => String::new(),
        Outcome::Fail(d) | Outcome::Unsupported(d) => d.clone(),
        Outcome::KnownDeviation {
            detail,
            reason,
            reference,
        } => format!("{detail} ({reason}; {reference})"),
    }
}

/// The terminal table, failures with details, stale expectations, and the closing line.
pub fn table(scenarios: &[Scenario], columns: &[Column], cross: &[CrossResult]) -> String {
    let width = scenarios.iter().map(|s| s.id.len()).max().unwrap_or(8);
    let mut out = format!("{:<width$}", "scenario");
    for c in columns {
        out.push_str(&format!("  {:<15}", c.name));
    }
    out.push('\n');
    for (i, s) in scenarios.iter().enumerate() {
        out.push_str(&format!("{:<width$}", s.id));
        for c in columns {
            out.push_str(&format!("  {:<15}", c.outcomes[i].label()));
        }
        out.push('\n');
    }
    for c in columns {
        out.push_str(&format!("\n{}: {} ({})\n", c.name, c.library, c.location));
        for (i, o) in c.outcomes.iter().enumerate() {
            if !matches!(o, Outcome::Pass) {
                out.push_str(&format!(
                    "  {:<16} {}: {}\n",
                    o.label(),
                    scenarios[i].id,
                    detail(o)
                ));
            }
        }
        for stale in &c.stale {
            out.push_str(&format!(
                "  STALE            {stale}: listed as a known deviation but no longer deviates\n"
            ));
        }
    }
    if !cross.is_empty() {
        out.push_str("\ncross-module (wrapped in the first module, unwrapped in the second):\n");
        for c in cross {
            let d = detail(&c.outcome);
            let d = if d.is_empty() { d } else { format!(": {d}") };
            out.push_str(&format!("  {:<16} {}{d}\n", c.outcome.label(), c.id));
        }
    }
    let s = summary(columns, cross);
    out.push_str(&format!(
        "\n{} scenarios x {} module(s), {} cross-module; {} known deviation(s)\n",
        scenarios.len(),
        columns.len(),
        cross.len(),
        s.known
    ));
    out.push_str(&closing_line(s));
    out.push('\n');
    out
}

/// JSON report (schema `hsmemu-conformance/1`).
pub fn json(
    scenarios: &[Scenario],
    columns: &[Column],
    cross: &[CrossResult],
) -> serde_json::Value {
    let s = summary(columns, cross);
    json!({
        "schema": "hsmemu-conformance/1",
        "modules": columns.iter().map(|c| json!({"name": c.name, "location": c.location, "library": c.library, "stale": c.stale})).collect::<Vec<_>>(),
        "scenarios": scenarios.iter().enumerate().map(|(i, sc)| json!({
            "id": sc.id,
            "tags": sc.tags,
            "reference": sc.reference,
            "description": sc.description,
            "results": columns.iter().map(|c| {
                let o = &c.outcomes[i];
                let mut r = json!({"module": c.name, "outcome": o.label().to_lowercase()});
                if !matches!(o, Outcome::Pass) {
                    r["detail"] = json!(detail(o));
                }
                r
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "cross": cross.iter().map(|c| {
            let mut r = json!({"id": c.id, "from": c.from, "to": c.to, "outcome": c.outcome.label().to_lowercase()});
            if !matches!(c.outcome, Outcome::Pass) {
                r["detail"] = json!(detail(&c.outcome));
            }
            r
        }).collect::<Vec<_>>(),
        "summary": {"passed": s.passed, "failed": s.failed, "skipped": s.skipped, "known_deviations": s.known},
    })
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one `<testsuite>` per module, one `<testcase>` per scenario; unsupported and
/// known deviations are `<skipped>`.
pub fn junit(scenarios: &[Scenario], columns: &[Column], cross: &[CrossResult]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hsmemu-conformance\">\n",
    );
    for c in columns {
        let failures = c
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Fail(_)))
            .count();
        let skipped = c
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Unsupported(_) | Outcome::KnownDeviation { .. }))
            .count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            xml_escape(&c.name),
            scenarios.len()
        ));
        for (i, s) in scenarios.iter().enumerate() {
            let class = xml_escape(&format!(
                "{}.{}",
                c.name,
                s.tags.first().copied().unwrap_or("misc")
            ));
            out.push_str(&format!(
                "    <testcase classname=\"{class}\" name=\"{}\">",
                xml_escape(&s.id)
            ));
            match &c.outcomes[i] {
                Outcome::Pass => {}
                Outcome::Fail(d) => {
                    out.push_str(&format!("<failure message=\"{}\"/>", xml_escape(d)))
                }
                o => out.push_str(&format!(
                    "<skipped message=\"{}\"/>",
                    xml_escape(&format!("{}: {}", o.label(), detail(o)))
                )),
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    if !cross.is_empty() {
        let failures = cross
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .count();
        let skipped = cross
            .iter()
            .filter(|c| {
                matches!(
                    c.outcome,
                    Outcome::Unsupported(_) | Outcome::KnownDeviation { .. }
                )
            })
            .count();
        out.push_str(&format!("  <testsuite name=\"cross-module\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n", cross.len()));
        for c in cross {
            out.push_str(&format!(
                "    <testcase classname=\"cross\" name=\"{}\">",
                xml_escape(&c.id)
            ));
            match &c.outcome {
                Outcome::Pass => {}
                Outcome::Fail(d) => {
                    out.push_str(&format!("<failure message=\"{}\"/>", xml_escape(d)))
                }
                o => out.push_str(&format!(
                    "<skipped message=\"{}\"/>",
                    xml_escape(&detail(o))
                )),
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// A Markdown matrix with modules side by side, then the non-passing details.
pub fn markdown(scenarios: &[Scenario], columns: &[Column], cross: &[CrossResult]) -> String {
    let mut out = String::from("| scenario | reference |");
    for c in columns {
        out.push_str(&format!(" {} |", c.name));
    }
    out.push_str("\n|---|---|");
    for _ in columns {
        out.push_str("---|");
    }
    out.push('\n');
    for (i, s) in scenarios.iter().enumerate() {
        out.push_str(&format!(
            "| `{}` | {} |",
            s.id,
            s.reference.replace('|', "\\|")
        ));
        for c in columns {
            out.push_str(&format!(" {} |", c.outcomes[i].label()));
        }
        out.push('\n');
    }
    for c in columns {
        out.push_str(&format!("\n**{}** ({})\n\n", c.name, c.library));
        for (i, o) in c.outcomes.iter().enumerate() {
            if !matches!(o, Outcome::Pass) {
                out.push_str(&format!(
                    "- {} `{}`: {}\n",
                    o.label(),
                    scenarios[i].id,
                    detail(o).replace('|', "\\|")
                ));
            }
        }
    }
    if !cross.is_empty() {
        out.push_str(
            "\n| cross-module (wrap in the first, unwrap in the second) | outcome |\n|---|---|\n",
        );
        for c in cross {
            out.push_str(&format!("| `{}` | {} |\n", c.id, c.outcome.label()));
        }
    }
    out.push_str(&format!("\n{}\n", closing_line(summary(columns, cross))));
    out
}

/// One difference between two JSON reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Scenario (or cross-module) id.
    pub id: String,
    /// Module name.
    pub module: String,
    /// Outcome in the golden report (`absent` if missing).
    pub golden: String,
    /// Outcome in the new report (`absent` if missing).
    pub result: String,
}

fn outcomes(
    report: &serde_json::Value,
) -> Result<std::collections::BTreeMap<(String, String), String>, String> {
    if report["schema"] != "hsmemu-conformance/1" {
        return Err("not an hsmemu-conformance/1 JSON report".into());
    }
    let mut map = std::collections::BTreeMap::new();
    for sc in report["scenarios"].as_array().ok_or("no scenarios array")? {
        let id = sc["id"].as_str().ok_or("scenario without id")?;
        for r in sc["results"].as_array().ok_or("scenario without results")? {
            let module = r["module"].as_str().ok_or("result without module")?;
            let outcome = r["outcome"].as_str().ok_or("result without outcome")?;
            map.insert((id.to_string(), module.to_string()), outcome.to_string());
        }
    }
    for c in report["cross"].as_array().map_or(&[][..], Vec::as_slice) {
        let id = c["id"].as_str().ok_or("cross result without id")?;
        let outcome = c["outcome"]
            .as_str()
            .ok_or("cross result without outcome")?;
        map.insert((id.to_string(), "cross".to_string()), outcome.to_string());
    }
    Ok(map)
}

/// The outcomes that differ between a golden report (e.g. a real CloudHSM run) and a new one.
/// Modules are matched by name, so rename columns (`--module` order and names) consistently.
pub fn diff(
    golden: &serde_json::Value,
    result: &serde_json::Value,
) -> Result<Vec<Difference>, String> {
    let (g, r) = (outcomes(golden)?, outcomes(result)?);
    let keys: std::collections::BTreeSet<_> = g.keys().chain(r.keys()).collect();
    Ok(keys
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (
                g.get(k).map_or("absent", String::as_str),
                r.get(k).map_or("absent", String::as_str),
            );
            (a != b).then(|| Difference {
                id: k.0.clone(),
                module: k.1.clone(),
                golden: a.into(),
                result: b.into(),
            })
        })
        .collect())
}
