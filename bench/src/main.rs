//! `badges-bench`: fills a database with a deterministic, realistic org, and
//! drives the real server over gRPC or REST at a fixed concurrency (closed
//! loop) or a fixed rate (open loop), checking every answer.

mod dataset;
mod load;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "badges-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the benchmark org (migrating first). Deterministic: the same size
    /// always gives the same rows.
    Dataset(dataset::Args),
    /// Drive a running server and print one JSON line of figures.
    Load(load::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Dataset(args) => dataset::run(args).await,
        Command::Load(args) => load::run(args).await,
    }
}
