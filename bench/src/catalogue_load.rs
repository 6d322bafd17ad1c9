//! Goal T4: what one load of an org's catalogue index costs, in CPU of this
//! process (the service's code, run here) and of PostgreSQL together: loads
//! one after another, with the CPU each side used over them.

use std::time::Instant;

use badges::store::{PoolSettings, Store};
use sea_orm::{ConnectionTrait, Statement};

use crate::report::{cpu_seconds, postgres_cpu_between, postgres_processes};

#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// PostgreSQL URL of a database with the org.
    #[arg(long, env = "BADGES_DATABASE_URL")]
    pub database_url: String,
    /// The org's name.
    #[arg(long, default_value = "tenant-0")]
    pub org: String,
    /// Loads to run.
    #[arg(long, default_value_t = 200)]
    pub times: u32,
}

/// What the loads cost, per load.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figures {
    pub badges: usize,
    pub wall_ms: f64,
    pub service_cpu_ms: f64,
    pub postgres_cpu_ms: f64,
    pub total_cpu_ms: f64,
}

pub async fn run(args: Args) -> anyhow::Result<Figures> {
    let url = args
        .database_url
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let store = Store::connect(&url, &PoolSettings::default()).await?;
    let org: i32 = store
        .connection()
        .query_one_raw(Statement::from_sql_and_values(
            store.backend(),
            format!(
                "SELECT id FROM orgs WHERE name = {}",
                store.dialect().placeholder(1)
            ),
            [args.org.clone().into()],
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org {}", args.org))?
        .try_get("", "id")?;
    // Warm the connection and PostgreSQL's caches.
    let badges = store.load_catalogue(org).await?.len();
    let me = std::process::id();
    let (cpu_before, pg_before, started) = (cpu_seconds(me), postgres_processes(), Instant::now());
    for _ in 0..args.times {
        store.load_catalogue(org).await?;
    }
    let wall = started.elapsed().as_secs_f64();
    let service = cpu_seconds(me) - cpu_before;
    let postgres = postgres_cpu_between(&pg_before, &postgres_processes());
    let per = |s: f64| (s * 1000.0 / f64::from(args.times) * 100.0).round() / 100.0;
    let figures = Figures {
        badges,
        wall_ms: per(wall),
        service_cpu_ms: per(service),
        postgres_cpu_ms: per(postgres),
        total_cpu_ms: per(service + postgres),
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}
