//! The harness against the embedded emulator: every scenario passes, and the JSON and JUnit
//! reports parse back with the same counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use hsmemu_conformance::runner::{self, ModuleSpec, Outcome, Source};
use hsmemu_conformance::{catalogue, report};
use quick_xml::Reader;
use quick_xml::events::Event;

/// The embedded module is one per process: tests that initialise it take turns.
static EMBEDDED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn embedded() -> ModuleSpec {
    ModuleSpec {
        name: "hsmemu".into(),
        source: Source::Embedded,
        token_label: None,
        pin: "1234".into(),
        so_pin: "12345678".into(),
        init_token: false,
        reserved: Some("[[token]]\nlabel = \"hsmemu\"\n".into()),
        profile: hsmemu_conformance::profile::GENERIC,
    }
}

#[test]
fn embedded_emulator_passes_everything_and_reports_parse_back() {
    let _turn = EMBEDDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let scenarios = catalogue::all();
    assert!(scenarios.len() >= 80, "only {} scenarios", scenarios.len());
    let mut ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), scenarios.len(), "scenario ids must be unique");

    let column = runner::run(
        &embedded(),
        &scenarios,
        &runner::builtin_expectations().unwrap(),
    )
    .unwrap();
    let failures: Vec<String> = column
        .outcomes
        .iter()
        .zip(&scenarios)
        .filter(|(o, _)| !matches!(o, Outcome::Pass))
        .map(|(o, s)| format!("{} {}: {o:?}", o.label(), s.id))
        .collect();
    assert!(
        failures.is_empty(),
        "hsmemu must pass every scenario:\n{}",
        failures.join("\n")
    );
    let columns = vec![column];
    let summary = report::summary(&columns, &[]);

    // JSON: the documented schema, parsed back.
    let json: serde_json::Value =
        serde_json::from_str(&report::json(&scenarios, &columns, &[]).to_string()).unwrap();
    assert_eq!(json["schema"], "hsmemu-conformance/1");
    assert_eq!(json["scenarios"].as_array().unwrap().len(), scenarios.len());
    assert_eq!(json["summary"]["passed"], summary.passed);
    assert_eq!(json["scenarios"][0]["results"][0]["outcome"], "pass");

    // JUnit XML: well-formed, one testcase per scenario, counts in the suite.
    let xml = report::junit(&scenarios, &columns, &[]);
    let mut reader = Reader::from_str(&xml);
    let (mut testcases, mut suite_tests, mut failures_attr) = (0, None, None);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => testcases += 1,
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                for a in e.attributes() {
                    let a = a.unwrap();
                    let v = String::from_utf8(a.value.to_vec()).unwrap();
                    match a.key.as_ref() {
                        b"tests" => suite_tests = Some(v),
                        b"failures" => failures_attr = Some(v),
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(testcases, scenarios.len());
    assert_eq!(suite_tests, Some(scenarios.len().to_string()));
    assert_eq!(failures_attr, Some("0".into()));

    // Markdown and the table end with the closing line.
    let closing = report::closing_line(summary);
    assert_eq!(
        closing,
        format!("{} passed, 0 failed, 0 skipped", scenarios.len())
    );
    assert!(
        report::table(&scenarios, &columns, &[])
            .trim_end()
            .ends_with(&closing)
    );
    assert!(
        report::markdown(&scenarios, &columns, &[])
            .trim_end()
            .ends_with(&closing)
    );
}

#[test]
fn diff_reports_changed_outcomes() {
    let scenarios = catalogue::all().into_iter().take(2).collect::<Vec<_>>();
    let column = |outcomes| runner::Column {
        name: "m".into(),
        location: "x".into(),
        library: "y".into(),
        outcomes,
        stale: vec![],
    };
    let golden = report::json(
        &scenarios,
        &[column(vec![Outcome::Pass, Outcome::Pass])],
        &[],
    );
    let result = report::json(
        &scenarios,
        &[column(vec![Outcome::Pass, Outcome::Fail("no".into())])],
        &[],
    );
    assert_eq!(report::diff(&golden, &golden).unwrap(), vec![]);
    let d = report::diff(&golden, &result).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].id.as_str(), d[0].golden.as_str(), d[0].result.as_str()),
        (scenarios[1].id.as_str(), "pass", "fail")
    );
    assert!(report::diff(&serde_json::json!({"schema": "other"}), &golden).is_err());
}

#[test]
fn junit_escapes_details() {
    let scenarios = catalogue::all().into_iter().take(1).collect::<Vec<_>>();
    let column = runner::Column {
        name: "m<&>".into(),
        location: "x".into(),
        library: "y".into(),
        outcomes: vec![Outcome::Fail("expected <a> & \"b\"".into())],
        stale: vec![],
    };
    let xml = report::junit(&scenarios, &[column], &[]);
    let mut reader = Reader::from_str(&xml);
    let mut failure = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Empty(e) if e.name().as_ref() == b"failure" => {
                let a = e.attributes().next().unwrap().unwrap();
                failure = Some(a.unescape_value().unwrap().into_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(failure.as_deref(), Some("expected <a> & \"b\""));
}

#[test]
fn bench_measures_every_case_on_the_embedded_module() {
    // A smoke run: every case must produce a figure. No timing is asserted (figures depend on
    // the machine); docs/performance.md has the real run.
    let _turn = EMBEDDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let settings = hsmemu_conformance::bench::Settings {
        window: std::time::Duration::from_millis(5),
        windows: 1,
        threads: 2,
    };
    let rows = hsmemu_conformance::bench::run(&[embedded()], &settings, &[]).unwrap();
    assert_eq!(rows.len(), hsmemu_conformance::bench::case_names(2).len());
    for r in &rows {
        assert!(
            r.modules[0].is_some_and(|ops| ops > 0.0),
            "{}: no figure",
            r.case
        );
    }
    let json = hsmemu_conformance::bench::json(&[embedded()], &rows, &settings);
    assert_eq!(json["schema"], "hsmemu-bench/1");

    // `--case`: only the matching rows, each measured as itself.
    let only = ["open_close".to_string()];
    let rows = hsmemu_conformance::bench::run(&[embedded()], &settings, &only).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.case.as_str()).collect();
    assert_eq!(names, ["open_close_session"]);
    assert!(rows[0].modules[0].is_some());
    let none = ["no-such-case".to_string()];
    let err = hsmemu_conformance::bench::run(&[embedded()], &settings, &none).unwrap_err();
    assert!(err.contains("no bench case matches"), "{err}");
}

#[test]
fn leak_search_finds_nothing_in_the_emulator() {
    let _turn = EMBEDDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match hsmemu_conformance::search::search_module(&embedded(), 300, 20, 7).unwrap() {
        hsmemu_conformance::search::Found::Nothing { cases } => assert_eq!(cases, 300),
        hsmemu_conformance::search::Found::Violation { why, script } => panic!("{why}\n{script}"),
    }
}

#[test]
fn the_emulators_cloudhsm_profile_behaves_as_cloudhsm_is_documented_to() {
    // The emulator's CloudHSM profile through the C ABI: vendor key-wrap codes, user:password
    // login, HSM-chosen GCM IVs written back into CK_GCM_PARAMS (every GCM scenario passes
    // only if the harness reads them back), and fixed CKA_EXTRACTABLE.
    let _turn = EMBEDDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let spec = ModuleSpec {
        pin: "crypto_user:1234".into(),
        reserved: Some("[[token]]\nlabel = \"hsmemu\"\nprofile = \"cloudhsm\"\n".into()),
        profile: hsmemu_conformance::profile::CLOUDHSM,
        ..embedded()
    };
    let scenarios = catalogue::all();
    let column = runner::run(&spec, &scenarios, &runner::builtin_expectations().unwrap()).unwrap();
    let mut deviations = Vec::new();
    for (o, s) in column.outcomes.iter().zip(&scenarios) {
        match o {
            Outcome::Pass => {}
            Outcome::KnownDeviation { .. } => deviations.push(s.id.as_str()),
            other => panic!("{}: {other:?}", s.id),
        }
    }
    assert_eq!(
        deviations,
        [
            "policy.extractable_is_sticky",
            "policy.never_extractable_stays_false",
            "vectors.wycheproof.aes_gcm",
            "errors.read_only_session_token_object",
        ]
    );
    assert!(column.stale.is_empty(), "{:?}", column.stale);

    // The same module under the generic profile: caller IVs are refused, and a bare PIN is not
    // a CloudHSM login.
    let generic_driver = ModuleSpec {
        profile: hsmemu_conformance::profile::GENERIC,
        ..spec.clone()
    };
    let column = runner::run(
        &generic_driver,
        &scenarios,
        &runner::builtin_expectations().unwrap(),
    )
    .unwrap();
    let gcm = scenarios
        .iter()
        .position(|s| s.id == "errors.buffer_too_small")
        .unwrap();
    assert!(
        matches!(&column.outcomes[gcm], Outcome::Fail(why) if why.contains("CKR_MECHANISM_PARAM_INVALID")),
        "{:?}",
        column.outcomes[gcm]
    );
    let bare_pin = ModuleSpec {
        pin: "1234".into(),
        ..spec
    };
    let err = runner::run(
        &bare_pin,
        &scenarios,
        &runner::builtin_expectations().unwrap(),
    )
    .unwrap_err();
    assert!(err.contains("CKR_PIN_INCORRECT"), "{err}");
}
