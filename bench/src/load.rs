//! The load generator: gRPC (tonic) or REST (HTTP/1.1) list calls against a
//! running server, at a fixed concurrency (closed loop) or a fixed rate (open
//! loop, latency measured from each call's scheduled start, so a stall is not
//! hidden), each for a fixed time. Every answer's status is checked, gRPC
//! status included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use badges::proto::customer_badge_service_client::CustomerBadgeServiceClient;
use badges::proto::{BadgeType, ListCustomerBadgesRequest};
use base64::Engine;
use hdrhistogram::Histogram;
use tokio::sync::Mutex;

use crate::dataset::{FIRST_REGULAR, HEAVY};

/// The last page of a heavy customer's 900 held badges, 100 a page.
const DEEPEST_PAGE: i32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    Grpc,
    Rest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// The first page (size 10) of regular customers' EARNED badges.
    First,
    /// The deepest offset page (size 100) of a heavy customer's EARNED badges
    /// (they hold 900: 9 pages).
    Deep,
    /// The same deep page, reached by keyset paging (the token of the page before).
    DeepKeyset,
}

#[derive(clap::Args)]
pub struct Args {
    /// Server address, host:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    #[arg(long, value_enum, default_value = "grpc")]
    transport: Transport,
    #[arg(long, value_enum, default_value = "first")]
    shape: Shape,
    /// Calls in flight (closed loop), or connections (open loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Calls per second (open loop); without it, a closed loop.
    #[arg(long)]
    rate: Option<u64>,
    /// Seconds to run, after a one-second warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Regular customers in the dataset (awards / 10).
    #[arg(long, default_value_t = 200_000)]
    customers: i64,
}

struct Caller {
    transport: Transport,
    grpc: CustomerBadgeServiceClient<tonic::transport::Channel>,
    http: reqwest::Client,
    addr: String,
    auth: String,
    keyset_token: Option<String>,
}

impl Caller {
    /// One call; `true` when it answered OK.
    async fn call(&mut self, shape: Shape, n: u64, customers: i64) -> bool {
        let (customer, page, size, token) = match shape {
            Shape::First => (
                FIRST_REGULAR + (n as i64 * 7919) % customers.max(1),
                0,
                10,
                None,
            ),
            Shape::Deep => (1 + (n as i64 % HEAVY), DEEPEST_PAGE, 100, None),
            Shape::DeepKeyset => (1, 0, 100, self.keyset_token.clone()),
        };
        match self.transport {
            Transport::Grpc => {
                let mut r = tonic::Request::new(ListCustomerBadgesRequest {
                    customer_id: customer.to_string(),
                    badge_type: vec![BadgeType::Earned as i32],
                    page: token.is_none().then_some(page),
                    size: Some(size),
                    page_token: token,
                    ..Default::default()
                });
                if let Ok(v) = self.auth.parse() {
                    r.metadata_mut().insert("authorization", v);
                }
                self.grpc.list_customer_badges(r).await.is_ok()
            }
            Transport::Rest => {
                let paging = match token {
                    Some(t) => format!("pageToken={t}"),
                    None => format!("page={page}"),
                };
                let url = format!(
                    "http://{}/api_gateway/v1/badges/management/{customer}?badgeType=EARNED&size={size}&{paging}",
                    self.addr
                );
                match self
                    .http
                    .get(url)
                    .header("authorization", &self.auth)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bench:bench")
    );
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", args.addr))?
        .connect()
        .await?;
    let mut probe = Caller {
        transport: Transport::Grpc,
        grpc: CustomerBadgeServiceClient::new(channel.clone()),
        http: reqwest::Client::new(),
        addr: args.addr.clone(),
        auth: auth.clone(),
        keyset_token: None,
    };
    // The token that leads to the deepest page, walked once by keyset.
    let keyset_token = if args.shape == Shape::DeepKeyset {
        let mut token = String::new();
        for _ in 0..DEEPEST_PAGE {
            let mut r = tonic::Request::new(ListCustomerBadgesRequest {
                customer_id: "1".into(),
                badge_type: vec![BadgeType::Earned as i32],
                size: Some(100),
                page_token: Some(token.clone()),
                ..Default::default()
            });
            r.metadata_mut().insert("authorization", auth.parse()?);
            token = probe
                .grpc
                .list_customer_badges(r)
                .await?
                .into_inner()
                .next_page_token
                .ok_or_else(|| {
                    anyhow::anyhow!("the heavy customer has fewer pages than expected")
                })?;
        }
        Some(token)
    } else {
        None
    };
    anyhow::ensure!(
        probe.call(args.shape, 0, args.customers).await,
        "a first call failed: is the server up with the bench dataset?"
    );

    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let warmup = Duration::from_secs(1);
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + Duration::from_secs(args.seconds);
    let counter = Arc::new(AtomicU64::new(0));

    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let mut caller = Caller {
            transport: args.transport,
            grpc: CustomerBadgeServiceClient::new(channel.clone()),
            http: reqwest::Client::new(),
            addr: args.addr.clone(),
            auth: auth.clone(),
            keyset_token: keyset_token.clone(),
        };
        let (histogram, ok, failed, counter) = (
            histogram.clone(),
            ok.clone(),
            failed.clone(),
            counter.clone(),
        );
        let (shape, customers, rate, workers) = (
            args.shape,
            args.customers,
            args.rate,
            args.concurrency as u64,
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut k: u64 = 0;
            loop {
                // Open loop: this worker's share of a fixed schedule.
                let scheduled = match rate {
                    Some(r) => {
                        let at = started
                            + Duration::from_secs_f64((k * workers + w as u64) as f64 / r as f64);
                        k += 1;
                        if at >= end {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => {
                        let now = Instant::now();
                        if now >= end {
                            break;
                        }
                        now
                    }
                };
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let good = caller.call(shape, n, customers).await;
                let done = Instant::now();
                if scheduled >= measure_from && done <= end + Duration::from_secs(5) {
                    let _ = local.record((done - scheduled).as_micros().max(1) as u64);
                    if good {
                        ok.fetch_add(1, Ordering::Relaxed)
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed)
                    };
                }
            }
            let _ = histogram.lock().await.add(&local);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let h = histogram.lock().await;
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let ms = |q: f64| (h.value_at_quantile(q) as f64 / 10.0).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "transport": format!("{:?}", args.transport).to_lowercase(),
            "shape": format!("{:?}", args.shape).to_lowercase(),
            "mode": if args.rate.is_some() { "open" } else { "closed" },
            "concurrency": args.concurrency,
            "rate": args.rate,
            "seconds": args.seconds,
            "ok": ok,
            "errors": failed,
            "throughput": ((ok + failed) as f64 / args.seconds as f64).round(),
            "p50_ms": ms(0.5),
            "p99_ms": ms(0.99),
            "p999_ms": ms(0.999),
        })
    );
    Ok(())
}
