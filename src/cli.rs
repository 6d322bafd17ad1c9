//! The commands of the `badges` binary.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::{TokenKeys, generate_secret, hash_secret};
use crate::config::{
    Cli, ClientCommand, Command, EventsCommand, OrgCommand, Right, ServeArgs, StateCommand,
};
use crate::domain::{Clock, SystemClock};
use crate::events::tail::Start;
use crate::store::{self, DatabaseUrl, NewApiClient, NewOrg, Store};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.db.database_url.clone();
    let pool = cli.db.pool();
    let log = cli.db.statement_log.as_deref();
    match cli.command {
        Command::Migrate => {
            store::migrate(&url, &pool).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve(args) => serve(args, &url, &pool, log).await?,
        Command::Events { command } => events(command).await?,
        Command::Org { command } => org(command, open(&url, &pool, log).await?).await?,
        Command::Client { command } => client(command, open(&url, &pool, log).await?).await?,
        Command::State { command } => state(command, open(&url, &pool, log).await?).await?,
    }
    Ok(())
}

/// Prints a batch's progress on stderr at most every two seconds, and the
/// last batch of each org.
fn progress(verb: &'static str) -> impl FnMut(store::Progress) {
    let mut last = std::time::Instant::now();
    move |p| {
        if last.elapsed().as_secs() >= 2 || p.done == p.total {
            last = std::time::Instant::now();
            eprintln!("org {}: {verb} {} of {} customers", p.org, p.done, p.total);
        }
    }
}

async fn state(command: StateCommand, store: Store) -> anyhow::Result<()> {
    match command {
        StateCommand::Rebuild { org, customer } => {
            let started = std::time::Instant::now();
            let written = match org {
                Some(org) if !customer.is_empty() => {
                    store.rebuild_customer_states(org, &customer).await?
                }
                _ => store.rebuild_states(org, progress("rebuilt")).await?,
            };
            println!(
                "rebuilt {written} customer state rows in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        StateCommand::Verify { org } => {
            let v = store
                .verify_states(org, |d| println!("{d}"), progress("verified"))
                .await?;
            println!(
                "verified {} customers: {} differences, {} rows missing or stale (read from the tables until renewed)",
                v.customers, v.differences, v.behind
            );
            if v.differences > 0 {
                anyhow::bail!(
                    "{} customer state rows differ from the tables",
                    v.differences
                );
            }
        }
    }
    Ok(())
}

async fn events(command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Tail {
        nats,
        org,
        event,
        all,
        last,
        limit,
        idle_seconds,
    } = command;
    let nats_url = nats
        .nats_url
        .context("set BADGES_NATS_URL (or --nats-url) to the NATS server")?;
    crate::events::tail::Tail {
        nats_url,
        stream: nats.nats_stream,
        subject_prefix: nats.nats_subject_prefix,
        org,
        event,
        start: if all {
            Start::First
        } else if last {
            Start::Latest
        } else {
            Start::New
        },
        limit,
        idle: idle_seconds.map(std::time::Duration::from_secs),
    }
    .run()
    .await
}

async fn org(command: OrgCommand, store: Store) -> anyhow::Result<()> {
    let OrgCommand::Create { name } = command;
    let id = store
        .insert_org(NewOrg {
            name: name.clone(),
            created_at: SystemClock.now(),
        })
        .await
        .context("creating the org (is the name taken?)")?;
    println!("{}", serde_json::json!({ "orgId": id, "name": name }));
    Ok(())
}

async fn client(command: ClientCommand, store: Store) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create {
            org,
            username,
            rights,
        } => {
            let secret = generate_secret();
            let id = store
                .insert_api_client(NewApiClient {
                    org_id: org,
                    username: username.clone(),
                    secret_hash: hash_secret(secret.expose())?,
                    can_read: rights.contains(&Right::Read),
                    can_write: rights.contains(&Right::Write),
                    created_at: SystemClock.now(),
                })
                .await
                .context("creating the client (does the org exist, is the username taken?)")?;
            print_json(serde_json::json!({
                    "clientId": id,
                    "orgId": org,
                    "username": username,
                    "secret": secret.expose(),
                    "rights": rights.iter().map(|r| format!("{r:?}").to_lowercase()).collect::<Vec<_>>(),
            }));
        }
        ClientCommand::List => {
            for c in store.list_api_clients().await? {
                print_json(serde_json::json!({
                    "clientId": c.id,
                    "orgId": c.org_id,
                    "username": c.username,
                    "read": c.can_read,
                    "write": c.can_write,
                    "disabled": c.disabled,
                }));
            }
        }
        ClientCommand::Disable { username } => {
            found(
                store.update_api_client(&username, Some(true), None).await?,
                &username,
            )?;
            print_json(serde_json::json!({ "username": username, "disabled": true }));
        }
        ClientCommand::Enable { username } => {
            found(
                store
                    .update_api_client(&username, Some(false), None)
                    .await?,
                &username,
            )?;
            print_json(serde_json::json!({ "username": username, "disabled": false }));
        }
        ClientCommand::Rotate { username } => {
            let secret = generate_secret();
            let hash = hash_secret(secret.expose())?;
            found(
                store.update_api_client(&username, None, Some(hash)).await?,
                &username,
            )?;
            print_json(serde_json::json!({ "username": username, "secret": secret.expose() }));
        }
    }
    Ok(())
}

fn print_json(value: serde_json::Value) {
    println!("{value}");
}

fn found(updated: bool, username: &str) -> anyhow::Result<()> {
    anyhow::ensure!(updated, "no API client named {username:?}");
    Ok(())
}

/// The token signing key: from the flag, else the file, else random (with a
/// warning, since tokens then die with the process).
fn token_keys(args: &ServeArgs) -> anyhow::Result<TokenKeys> {
    let ttl = args.token_ttl_seconds;
    if let Some(key) = &args.token_key {
        anyhow::ensure!(
            key.expose().len() >= 32,
            "BADGES_TOKEN_KEY must be at least 32 bytes"
        );
        return Ok(TokenKeys::new(key.expose().as_bytes(), ttl));
    }
    if let Some(path) = &args.token_key_file {
        let key = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let key = key.trim_ascii();
        anyhow::ensure!(
            key.len() >= 32,
            "the token key file must hold at least 32 bytes"
        );
        return Ok(TokenKeys::new(key, ttl));
    }
    tracing::warn!(
        "no BADGES_TOKEN_KEY or BADGES_TOKEN_KEY_FILE: signing OAuth tokens with a random key; they will not survive a restart"
    );
    Ok(TokenKeys::random(ttl))
}

/// Opens the store, migrating it first where the dialect has no separate
/// migration step (SQLite), its statements written to `log` if given.
async fn open(
    url: &DatabaseUrl,
    pool: &store::PoolSettings,
    log: Option<&std::path::Path>,
) -> anyhow::Result<Store> {
    if url.dialect().migrates_on_open() {
        store::migrate(url, pool).await?;
    }
    let store = Store::connect(url, pool).await?;
    Ok(match log {
        Some(path) => store
            .log_statements(path)
            .with_context(|| format!("opening the statement log {}", path.display()))?,
        None => store,
    })
}

async fn serve(
    args: ServeArgs,
    url: &DatabaseUrl,
    settings: &store::PoolSettings,
    log: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if args.migrate && !url.dialect().migrates_on_open() {
        store::migrate(url, settings).await?;
    }
    let store = open(url, settings, log).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keys = token_keys(&args)?;
    if args.demo {
        crate::demo::load(&store, clock.now()).await?;
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving gRPC");
    let pool = store.clone();
    let mut app = App::new(store, clock, keys, &args.limits());
    match args.events.config() {
        Some(events) => {
            // The URL may hold a password: the error does not repeat it.
            anyhow::ensure!(
                events
                    .nats_url
                    .expose()
                    .parse::<async_nats::ServerAddr>()
                    .is_ok(),
                "BADGES_NATS_URL is not a NATS server URL (nats://HOST:PORT)"
            );
            tracing::info!(stream = %events.stream, subjects = %events.stream_subjects(), "events on: writes record them, the relay publishes them to NATS");
            app = app.with_events(events);
        }
        None => tracing::info!("events off: no BADGES_NATS_URL"),
    }
    let outcome =
        crate::server::serve(listener, app, shutdown_signal(), args.serve_options()).await;
    // Close the pool, so the database's sessions end with a goodbye rather
    // than a reset connection (which PostgreSQL logs, once per connection).
    if let Err(e) = pool.close().await {
        tracing::warn!(error = %e, "closing the database pool");
    }
    outcome
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
