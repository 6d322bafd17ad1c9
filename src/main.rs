use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = badges::config::Cli::parse();
    // Flushes exported spans when main returns.
    let _telemetry = badges::telemetry::init(cli.log_format);
    match badges::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "badges failed");
            std::process::ExitCode::FAILURE
        }
    }
}
