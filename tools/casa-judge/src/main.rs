//! casa-judge: thin binary; the work lives in the crates under `crates/`.
use clap::Parser;

#[derive(Parser)]
#[command(name = "casa-judge", version = vlass_cli::VERSION, long_version = vlass_cli::long_version(),
          after_help = vlass_cli::exit::EXIT_CODE_HELP)]
struct Args {}

fn main() -> std::process::ExitCode {
    vlass_cli::reset_sigpipe();
    let _args = Args::parse();
    vlass_cli::ExitCode::Success.into()
}
