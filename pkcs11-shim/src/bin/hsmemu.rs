//! The `hsmemu` admin CLI (placeholder until persistent tokens land).
fn main() {
    eprintln!("hsmemu: the admin CLI is not built yet");
    std::process::exit(2);
}
