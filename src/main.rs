use clap::Parser;

/// mimalloc: the service allocates many small, short-lived buffers per call
/// (protobuf and JSON encoding, SQL rows); glibc's malloc and free were a
/// seventh of its CPU in a profile under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = badges::config::Cli::parse();
    // Flushes exported spans when main returns.
    let _telemetry = badges::telemetry::init(cli.log_format, cli.command.default_log_filter());
    match badges::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "badges failed");
            std::process::ExitCode::FAILURE
        }
    }
}
