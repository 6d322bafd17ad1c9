//! `badges-bench`: fills a database with a deterministic, realistic org,
//! drives the real server over gRPC or REST at a fixed concurrency (closed
//! loop) or a fixed rate (open loop), checking every answer, serves the
//! trivial reference handlers, and writes the benchmark report.

mod catalogue_load;
mod chart;
mod dataset;
mod load;
mod pgbench;
mod report;
mod tenants;
mod trivial;

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
    /// Build the many-tenant dataset (PostgreSQL; migrating first).
    Tenants(tenants::Args),
    /// Load one org's catalogue index again and again: its cost per load.
    CatalogueLoad(catalogue_load::Args),
    /// Drive a running server and print one JSON line of figures.
    Load(load::Spec),
    /// Serve the trivial reference handlers (tonic and axum) with a canned answer.
    Trivial(trivial::Args),
    /// Build the datasets, run the references and the service, write the report.
    Report(report::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Dataset(args) => dataset::run(args).await.map(|_| ()),
        Command::Tenants(args) => tenants::run(args).await.map(|_| ()),
        Command::CatalogueLoad(args) => catalogue_load::run(args).await.map(|_| ()),
        Command::Load(spec) => load::run(spec).await,
        Command::Trivial(args) => trivial::run(args).await,
        Command::Report(args) => report::run(args).await,
    }
}
