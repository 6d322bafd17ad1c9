use clap::Parser;

/// mimalloc: the service allocates many small, short-lived buffers per call
/// (protobuf and JSON encoding, SQL rows); glibc's malloc and free were a
/// seventh of its CPU in a profile under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Before any other thread runs: options are not set thread-safely.
    badges::allocator::return_freed_memory_at_once();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("badges: no async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> std::process::ExitCode {
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
