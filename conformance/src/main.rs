//! `hsmemu-conformance`: runs the scenario catalogue against PKCS#11 modules and prints the
//! matrix. With no arguments: the embedded emulator, plus SoftHSMv2 if it is installed.

use clap::{Parser, Subcommand, ValueEnum};
use hsmemu_conformance::runner::{self, ModuleSpec, Source};
use hsmemu_conformance::{bench, catalogue, cross, loader, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Where SoftHSMv2 is installed on Debian.
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[derive(Parser)]
#[command(
    name = "hsmemu-conformance",
    version,
    about = "PKCS#11 conformance: the same scenarios against any module, side by side"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scenarios (the default).
    Run(RunArgs),
    /// Time the same operations through the C ABI for each module, side by side.
    Bench(BenchArgs),
    /// Search random call sequences for one that leaks a non-extractable key or flips a sticky
    /// attribute back (shrunk and printed as a script if found): exit 1 if one is found.
    Search(SearchArgs),
    /// Compare two JSON reports (a golden one, e.g. from a real CloudHSM, and a new one): exit 1
    /// if any outcome differs.
    Diff {
        /// The golden report.
        golden: PathBuf,
        /// The new report.
        result: PathBuf,
    },
}

#[derive(clap::Args)]
struct BenchArgs {
    /// A module: a path to a PKCS#11 library, or `embedded`. Default: embedded, plus SoftHSMv2
    /// if installed.
    #[arg(long = "module")]
    modules: Vec<String>,
    /// User PIN of the modules' tokens.
    #[arg(long, default_value = "1234")]
    pin: String,
    /// Threads for the data and signing cases (adds threaded rows when above 1).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Length of one measurement window, in milliseconds.
    #[arg(long, default_value_t = 300)]
    window_ms: u64,
    /// Windows per case; the median is reported.
    #[arg(long, default_value_t = 5)]
    windows: usize,
    /// Run only the cases whose name contains this text (repeatable), e.g. `--case gcm`.
    #[arg(long = "case")]
    cases: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SearchArgs {
    /// A module: a path to a PKCS#11 library, or `embedded`. Default: embedded, plus SoftHSMv2
    /// if installed.
    #[arg(long = "module")]
    modules: Vec<String>,
    /// User PIN.
    #[arg(long, default_value = "1234")]
    pin: String,
    /// Sequences to try per module.
    #[arg(long, default_value_t = 256)]
    cases: u32,
    /// Longest sequence.
    #[arg(long, default_value_t = 16)]
    steps: usize,
    /// RNG seed (the same seed gives the same sequences).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Junit,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Profile {
    Generic,
    Cloudhsm,
    Softhsm,
}

#[derive(clap::Args)]
struct RunArgs {
    /// A module: a path to a PKCS#11 library, or `embedded`. Repeat for a column per module.
    /// Default: embedded, plus SoftHSMv2 if installed.
    #[arg(long = "module")]
    modules: Vec<String>,
    /// Label of the token to test (default: the first initialised token).
    #[arg(long)]
    token_label: Option<String>,
    /// User PIN.
    #[arg(long, default_value = "1234")]
    pin: String,
    /// SO PIN (for --init-token).
    #[arg(long, default_value = "12345678")]
    so_pin: String,
    /// Expectation profile.
    #[arg(long, value_enum, default_value = "generic")]
    profile: Profile,
    /// Only scenarios with this tag (repeatable).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Initialise a free slot's token before running (label from --token-label, else
    /// "conformance").
    #[arg(long)]
    init_token: bool,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            modules: Vec::new(),
            token_label: None,
            pin: "1234".into(),
            so_pin: "12345678".into(),
            profile: Profile::Generic,
            only: Vec::new(),
            format: Format::Table,
            out: None,
            init_token: false,
        }
    }
}

/// A scratch SoftHSMv2 configuration with an empty token directory, so the automatic SoftHSMv2
/// column never touches the system's tokens.
fn softhsm_scratch() -> Result<PathBuf, String> {
    let dir =
        std::env::temp_dir().join(format!("hsmemu-conformance-softhsm-{}", std::process::id()));
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)
        .map_err(|e| format!("cannot create {}: {e}", tokens.display()))?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    loader::set_env("SOFTHSM2_CONF", conf.as_os_str());
    Ok(dir)
}

fn column_name(module: &str) -> String {
    if module == "embedded" {
        return "hsmemu".into();
    }
    let stem = Path::new(module)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(module);
    match stem.strip_prefix("lib").unwrap_or(stem) {
        "hsmemu_pkcs11" => "hsmemu.so".into(),
        other => other.to_string(),
    }
}

/// Where a `--module` argument points: the embedded emulator or a library path.
fn source(module: &str) -> Source {
    if module == "embedded" {
        Source::Embedded
    } else {
        Source::Path(module.to_string())
    }
}

/// The embedded emulator's configuration: one in-memory token that behaves as `profile`, so
/// `--profile cloudhsm` runs the emulator's CloudHSM profile (docs/profiles.md).
fn embedded_config(profile: hsmemu_conformance::profile::Profile) -> String {
    format!(
        "[[token]]\nlabel = \"hsmemu\"\nprofile = \"{}\"\n",
        profile.name
    )
}

/// The PIN for `module`: the embedded emulator under the CloudHSM profile logs in as
/// `crypto_user:<pin>` unless the PIN already names a user.
fn embedded_pin(module: &str, profile: hsmemu_conformance::profile::Profile, pin: &str) -> String {
    if module == "embedded" && profile.name == "cloudhsm" && !pin.contains(':') {
        format!("crypto_user:{pin}")
    } else {
        pin.to_string()
    }
}

fn run(args: RunArgs) -> Result<bool, String> {
    let profile = match args.profile {
        Profile::Generic => hsmemu_conformance::profile::GENERIC,
        Profile::Cloudhsm => hsmemu_conformance::profile::CLOUDHSM,
        Profile::Softhsm => hsmemu_conformance::profile::SOFTHSM,
    };
    let mut specs = Vec::new();
    let mut scratch = None;
    let modules = if args.modules.is_empty() {
        default_modules()
    } else {
        args.modules.clone()
    };
    for module in &modules {
        let auto_softhsm = args.modules.is_empty() && module == SOFTHSM;
        if auto_softhsm {
            scratch = Some(softhsm_scratch()?);
        }
        specs.push(ModuleSpec {
            name: column_name(module),
            source: source(module),
            token_label: if auto_softhsm {
                Some("conformance".into())
            } else {
                args.token_label.clone()
            },
            pin: embedded_pin(module, profile, &args.pin),
            so_pin: args.so_pin.clone(),
            init_token: args.init_token || auto_softhsm,
            reserved: (module == "embedded").then(|| embedded_config(profile)),
            profile,
        });
    }
    let scenarios: Vec<_> = catalogue::all()
        .into_iter()
        .filter(|s| args.only.is_empty() || s.tags.iter().any(|t| args.only.iter().any(|o| o == t)))
        .collect();
    let expectations = runner::builtin_expectations()?;
    let mut columns = Vec::new();
    for spec in &specs {
        columns.push(runner::run(spec, &scenarios, &expectations)?);
    }
    let cross = if args.only.is_empty() || args.only.iter().any(|t| t == "cross") {
        cross::run(&specs)?
    } else {
        Vec::new()
    };
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    let s = report::summary(&columns, &cross);
    let text = match args.format {
        Format::Table => report::table(&scenarios, &columns, &cross),
        Format::Json => format!("{:#}\n", report::json(&scenarios, &columns, &cross)),
        Format::Junit => report::junit(&scenarios, &columns, &cross),
        Format::Markdown => report::markdown(&scenarios, &columns, &cross),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("{}", report::closing_line(s));
        }
        None => {
            print!("{text}");
            if !matches!(args.format, Format::Table | Format::Markdown) {
                eprintln!("{}", report::closing_line(s));
            }
        }
    }
    Ok(s.failed == 0)
}

/// Default modules: embedded, plus SoftHSMv2 if installed.
fn default_modules() -> Vec<String> {
    let mut m = vec!["embedded".to_string()];
    if Path::new(SOFTHSM).exists() {
        m.push(SOFTHSM.to_string());
    }
    m
}

fn bench(args: BenchArgs) -> Result<bool, String> {
    let modules = if args.modules.is_empty() {
        default_modules()
    } else {
        args.modules.clone()
    };
    let scratch = std::env::temp_dir().join(format!("hsmemu-bench-{}", std::process::id()));
    let mut specs = Vec::new();
    for module in &modules {
        let softhsm = module.contains("softhsm");
        if softhsm && args.modules.is_empty() {
            softhsm_scratch()?;
        }
        let hsmemu = module == "embedded" || module.contains("hsmemu");
        // hsmemu runs on a persistent token, so token-key creation pays for durable writes.
        let reserved = hsmemu.then(|| {
            let dir = scratch.join(column_name(module));
            format!(
                "[[token]]\nlabel = \"bench\"\npath = \"{}\"\n",
                dir.display()
            )
        });
        specs.push(ModuleSpec {
            name: column_name(module),
            source: source(module),
            token_label: Some(if hsmemu {
                "bench".into()
            } else {
                "conformance".into()
            }),
            pin: args.pin.clone(),
            so_pin: "12345678".into(),
            init_token: softhsm && args.modules.is_empty(),
            reserved,
            profile: hsmemu_conformance::profile::GENERIC,
        });
    }
    let settings = bench::Settings {
        window: Duration::from_millis(args.window_ms),
        windows: args.windows.max(1),
        threads: args.threads.max(1),
    };
    let rows = bench::run(&specs, &settings, &args.cases);
    let _ = std::fs::remove_dir_all(&scratch);
    let rows = rows?;
    let text = match args.format {
        Format::Json => format!("{:#}\n", bench::json(&specs, &rows, &settings)),
        _ => bench::table(&specs, &rows),
    };
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(true)
}

fn search(args: SearchArgs) -> Result<bool, String> {
    let modules = if args.modules.is_empty() {
        default_modules()
    } else {
        args.modules.clone()
    };
    let mut clean = true;
    for module in &modules {
        let auto_softhsm = args.modules.is_empty() && module == SOFTHSM;
        let scratch = if auto_softhsm {
            Some(softhsm_scratch()?)
        } else {
            None
        };
        let spec = ModuleSpec {
            name: column_name(module),
            source: source(module),
            token_label: auto_softhsm.then(|| "conformance".into()),
            pin: args.pin.clone(),
            so_pin: "12345678".into(),
            init_token: auto_softhsm,
            reserved: (module == "embedded").then(|| "[[token]]\nlabel = \"hsmemu\"\n".to_string()),
            profile: hsmemu_conformance::profile::GENERIC,
        };
        let found =
            hsmemu_conformance::search::search_module(&spec, args.cases, args.steps, args.seed);
        if let Some(dir) = scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
        match found? {
            hsmemu_conformance::search::Found::Nothing { cases } => {
                println!(
                    "{}: {cases} sequences of up to {} calls, no leak and no sticky attribute flipped back",
                    spec.name, args.steps
                );
            }
            hsmemu_conformance::search::Found::Violation { why, script } => {
                clean = false;
                println!(
                    "{}: VIOLATION: {why}\nminimal sequence (replay with --seed {}):\n{script}",
                    spec.name, args.seed
                );
            }
        }
    }
    Ok(clean)
}

fn diff(golden: &Path, result: &Path) -> Result<bool, String> {
    let read = |p: &Path| -> Result<serde_json::Value, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let differences = report::diff(&read(golden)?, &read(result)?)?;
    for d in &differences {
        println!("{:<50} {:<12} {} -> {}", d.id, d.module, d.golden, d.result);
    }
    println!("{} difference(s)", differences.len());
    Ok(differences.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Bench(args)) => bench(args),
        Some(Command::Search(args)) => search(args),
        Some(Command::Diff { golden, result }) => diff(&golden, &result),
        None => run(RunArgs::default()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("hsmemu-conformance: {msg}");
            ExitCode::from(2)
        }
    }
}
