//! The load generator: gRPC (tonic) or REST (HTTP/1.1) list calls against a
//! running server, at a fixed concurrency (closed loop) or a fixed rate (open
//! loop: one schedule of arrivals, each taken by the next free worker; a call
//! that starts late because every worker was busy counts from its scheduled
//! start, so a stall is not hidden), each for a fixed time. Each worker has its own
//! connection. Every answer's status is checked, gRPC
//! status included; calls shed by the server (429 / RESOURCE_EXHAUSTED) are
//! counted apart from other errors, and latencies are of OK calls only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use badges::proto::customer_badge_service_client::CustomerBadgeServiceClient;
use badges::proto::{BadgeType, ListCustomerBadgesRequest, SortOn};
use base64::Engine;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::dataset::{FIRST_REGULAR, HEAVY, HISTORY};

/// The last page of a heavy customer's 900 held badges, 100 a page.
pub const DEEPEST_PAGE: i32 = 8;
/// Heavy customers the deep shapes cycle through (ids 1..=DEEP_CUSTOMERS).
pub const DEEP_CUSTOMERS: i64 = 20;
const _: () = assert!(DEEP_CUSTOMERS <= HEAVY);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Grpc,
    Rest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// The first page (size 10) of a regular customer, for `--badge-type`
    /// and `--sort-on` (the service's defaults without them).
    First,
    /// The first page (size 100) of a heavy customer's EARNED badges.
    HeavyFirst,
    /// The deepest offset page (size 100, page 8) of a heavy customer's
    /// EARNED badges (they hold 900).
    Deep,
    /// The same deep page, reached by keyset paging (the token of the page before).
    DeepKeyset,
    /// The first page (size 10) of the customer with 5,000 awards of one
    /// badge (`dataset::HISTORY`).
    History,
    /// A page of the org's badge list (`GET /badgeMeta`, REST only), 100 a
    /// page with their counts, the page cycling over the first ten.
    Catalogue,
}

/// Which badges the `first` shape asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    AvailableToIssue,
    Available,
    Earned,
    Expired,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::AvailableToIssue,
        Kind::Available,
        Kind::Earned,
        Kind::Expired,
    ];

    fn proto(self) -> BadgeType {
        match self {
            Kind::AvailableToIssue => BadgeType::AvailableToIssue,
            Kind::Available => BadgeType::Available,
            Kind::Earned => BadgeType::Earned,
            Kind::Expired => BadgeType::Expired,
        }
    }

    pub fn wire(self) -> &'static str {
        self.proto().as_str_name().trim_start_matches("BADGE_TYPE_")
    }
}

/// The sort key the `first` shape asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sort {
    ExpiresOn,
    LastModifiedDate,
    LastIssuedDate,
    LastExpiredBadge,
    LastEarnedEventDate,
    LastEarnedOnDate,
}

impl Sort {
    pub const ALL: [Sort; 6] = [
        Sort::ExpiresOn,
        Sort::LastModifiedDate,
        Sort::LastIssuedDate,
        Sort::LastExpiredBadge,
        Sort::LastEarnedEventDate,
        Sort::LastEarnedOnDate,
    ];

    fn proto(self) -> SortOn {
        match self {
            Sort::ExpiresOn => SortOn::ExpiresOn,
            Sort::LastModifiedDate => SortOn::LastModifiedDate,
            Sort::LastIssuedDate => SortOn::LastIssuedDate,
            Sort::LastExpiredBadge => SortOn::LastExpiredBadge,
            Sort::LastEarnedEventDate => SortOn::LastEarnedEventDate,
            Sort::LastEarnedOnDate => SortOn::LastEarnedOnDate,
        }
    }

    pub fn wire(self) -> &'static str {
        self.proto().as_str_name().trim_start_matches("SORT_ON_")
    }
}

/// One load run.
#[derive(Clone, Debug, clap::Args, Serialize)]
pub struct Spec {
    /// Server address, host:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[arg(long, value_enum, default_value = "grpc")]
    pub transport: Transport,
    #[arg(long, value_enum, default_value = "first")]
    pub shape: Shape,
    /// badgeType of the `first` shape (the service's default without it).
    #[arg(long, value_enum)]
    pub badge_type: Option<Kind>,
    /// sortOn of the `first` shape (the service's default without it).
    #[arg(long, value_enum)]
    pub sort_on: Option<Sort>,
    /// Calls in flight (closed loop), or workers sharing the schedule (open loop).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Calls per second (open loop); without it, a closed loop.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Seconds to measure, after a one-second warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Regular customers in the dataset (awards / 10); with `--tenants`,
    /// customers of each org.
    #[arg(long, default_value_t = 200_000)]
    pub customers: i64,
    /// Orgs of the many-tenant dataset to spread the calls over (client
    /// `tenant-{k}` for org k); 0: the one benchmark org.
    #[arg(long, default_value_t = 0)]
    pub tenants: usize,
    /// How the calls spread over the tenants: Zipf with this exponent (org k
    /// the k-th most called); 0: uniform.
    #[arg(long, default_value_t = 0.0)]
    pub zipf: f64,
}

/// A well-mixed 64-bit hash of `n` (splitmix64), for picks that are
/// deterministic per call number and uncorrelated between calls.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Which tenant each call goes to: the cumulative distribution over orgs.
#[derive(Debug)]
pub struct Spread {
    cdf: Vec<f64>,
}

impl Spread {
    pub fn new(tenants: usize, zipf: f64) -> Self {
        let weights = (1..=tenants).map(|k| 1.0 / (k as f64).powf(zipf));
        let mut total = 0.0;
        let mut cdf: Vec<f64> = weights
            .map(|w| {
                total += w;
                total
            })
            .collect();
        for c in &mut cdf {
            *c /= total;
        }
        Spread { cdf }
    }

    /// The tenant of call `n`.
    pub fn pick(&self, n: u64) -> usize {
        let u = (mix(n) >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf
            .partition_point(|&c| c < u)
            .min(self.cdf.len().saturating_sub(1))
    }
}

/// What one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub spec: Spec,
    /// Calls answered OK.
    pub ok: u64,
    /// Calls refused by the server's load shedding (429 / RESOURCE_EXHAUSTED).
    pub shed: u64,
    /// Every other failure: a non-OK status or a broken connection.
    pub errors: u64,
    /// OK calls per second.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

enum Answer {
    Ok,
    Shed,
    Failed,
}

struct Caller {
    transport: Transport,
    grpc: CustomerBadgeServiceClient<tonic::transport::Channel>,
    http: reqwest::Client,
    addr: String,
    auth: String,
    /// With tenants: each tenant's credentials, and how calls spread.
    tenants: Option<Arc<(Vec<String>, Spread)>>,
    /// Per deep customer (index = id - 1), the token of its deepest page.
    keyset_tokens: Arc<Vec<String>>,
}

impl Caller {
    async fn call(&mut self, spec: &Spec, n: u64) -> Answer {
        let deep_customer = 1 + (n as i64 % DEEP_CUSTOMERS);
        let auth = match &self.tenants {
            Some(t) => t.0[t.1.pick(n)].clone(),
            None => self.auth.clone(),
        };
        if spec.shape == Shape::Catalogue {
            let url = format!(
                "http://{}/api_gateway/v1/badges/badgeMeta?size=100&page={}",
                self.addr,
                n % 10
            );
            return self.rest(url, &auth).await;
        }
        let regular = match &self.tenants {
            Some(_) => (mix(n ^ 0x5bd1_e995) % spec.customers.max(1) as u64) as i64,
            None => (n as i64 * 7919) % spec.customers.max(1),
        };
        let (customer, page, size, token, kind, sort) = match spec.shape {
            Shape::First | Shape::Catalogue => (
                FIRST_REGULAR + regular,
                0,
                10,
                None,
                spec.badge_type,
                spec.sort_on,
            ),
            Shape::History => (HISTORY, 0, 10, None, spec.badge_type, spec.sort_on),
            Shape::HeavyFirst => (deep_customer, 0, 100, None, Some(Kind::Earned), None),
            Shape::Deep => (
                deep_customer,
                DEEPEST_PAGE,
                100,
                None,
                Some(Kind::Earned),
                None,
            ),
            Shape::DeepKeyset => (
                deep_customer,
                DEEPEST_PAGE,
                100,
                self.keyset_tokens.get(deep_customer as usize - 1).cloned(),
                Some(Kind::Earned),
                None,
            ),
        };
        match self.transport {
            Transport::Grpc => {
                let mut r = tonic::Request::new(ListCustomerBadgesRequest {
                    customer_id: customer.to_string(),
                    badge_type: kind.map(|k| k.proto() as i32).into_iter().collect(),
                    sort_on: sort.map(|s| s.proto() as i32).unwrap_or_default(),
                    page: token.is_none().then_some(page),
                    size: Some(size),
                    page_token: token,
                    ..Default::default()
                });
                if let Ok(v) = auth.parse() {
                    r.metadata_mut().insert("authorization", v);
                }
                match self.grpc.list_customer_badges(r).await {
                    Ok(_) => Answer::Ok,
                    Err(s) if s.code() == tonic::Code::ResourceExhausted => Answer::Shed,
                    Err(_) => Answer::Failed,
                }
            }
            Transport::Rest => {
                let mut url = format!(
                    "http://{}/api_gateway/v1/badges/management/{customer}?size={size}",
                    self.addr
                );
                match token {
                    Some(t) => url.push_str(&format!("&pageToken={t}")),
                    None => url.push_str(&format!("&page={page}")),
                }
                if let Some(k) = kind {
                    url.push_str(&format!("&badgeType={}", k.wire()));
                }
                if let Some(s) = sort {
                    url.push_str(&format!("&sortOn={}", s.wire()));
                }
                self.rest(url, &auth).await
            }
        }
    }

    /// One REST GET: OK when the status is and the body arrives.
    async fn rest(&self, url: String, auth: &str) -> Answer {
        match self
            .http
            .get(url)
            .header("authorization", auth)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(_) => Answer::Ok,
                Err(_) => Answer::Failed,
            },
            Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => Answer::Shed,
            _ => Answer::Failed,
        }
    }
}

/// The Basic credentials of the benchmark org's client.
pub fn auth_header() -> String {
    basic("bench")
}

/// The Basic credentials of client `username`, whose secret is `bench`.
fn basic(username: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:bench"))
    )
}

/// Walks each deep customer's pages by keyset once, for the token of its deepest page.
async fn keyset_tokens(
    grpc: &mut CustomerBadgeServiceClient<tonic::transport::Channel>,
    auth: &str,
) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::new();
    for customer in 1..=DEEP_CUSTOMERS {
        let mut token = String::new();
        for _ in 0..DEEPEST_PAGE {
            let mut r = tonic::Request::new(ListCustomerBadgesRequest {
                customer_id: customer.to_string(),
                badge_type: vec![BadgeType::Earned as i32],
                size: Some(100),
                page_token: Some(token.clone()),
                ..Default::default()
            });
            r.metadata_mut().insert("authorization", auth.parse()?);
            token = grpc
                .list_customer_badges(r)
                .await?
                .into_inner()
                .next_page_token
                .ok_or_else(|| {
                    anyhow::anyhow!("heavy customer {customer} has fewer pages than expected")
                })?;
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// Calls once as each tenant's client (two at a time, again when shed), so
/// that the measurement starts with every client's secret verified once, as
/// a running service has them: a secret's first check is an argon2 hash.
async fn warm_tenants(probe: &Caller, spec: &Spec, auths: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in auths.chunks(auths.len().div_ceil(2).max(1)) {
        let (chunk, spec) = (chunk.to_vec(), spec.clone());
        let mut caller = Caller {
            transport: Transport::Rest,
            grpc: probe.grpc.clone(),
            http: reqwest::Client::new(),
            addr: probe.addr.clone(),
            auth: String::new(),
            tenants: None,
            keyset_tokens: probe.keyset_tokens.clone(),
        };
        tasks.spawn(async move {
            for auth in chunk {
                caller.auth = auth;
                let mut tries = 0;
                while !matches!(caller.call(&spec, 0).await, Answer::Ok) {
                    tries += 1;
                    anyhow::ensure!(tries < 100, "a tenant's first call kept failing");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "{} tenants' clients warmed in {:.1} s",
        auths.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs one load and returns its figures.
pub async fn measure(spec: &Spec) -> anyhow::Result<Outcome> {
    let auth = auth_header();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", spec.addr))?
        .connect()
        .await?;
    let mut grpc = CustomerBadgeServiceClient::new(channel.clone())
        .max_decoding_message_size(16 * 1024 * 1024);
    anyhow::ensure!(
        spec.shape != Shape::Catalogue || spec.transport == Transport::Rest,
        "the catalogue shape is REST only"
    );
    let tokens = Arc::new(if spec.shape == Shape::DeepKeyset {
        keyset_tokens(&mut grpc, &auth).await?
    } else {
        Vec::new()
    });
    let tenants = (spec.tenants > 0).then(|| {
        let auths = (0..spec.tenants)
            .map(|k| basic(&format!("tenant-{k}")))
            .collect();
        Arc::new((auths, Spread::new(spec.tenants, spec.zipf)))
    });
    let caller = |transport, grpc| Caller {
        transport,
        grpc,
        http: reqwest::Client::new(),
        addr: spec.addr.clone(),
        auth: auth.clone(),
        tenants: tenants.clone(),
        keyset_tokens: tokens.clone(),
    };
    let mut probe = caller(spec.transport, grpc.clone());
    anyhow::ensure!(
        matches!(probe.call(spec, 0).await, Answer::Ok),
        "a first call failed: is the server up with the bench dataset?"
    );
    if let Some(tenants) = &tenants {
        warm_tenants(&probe, spec, &tenants.0).await?;
    }

    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let started = Instant::now();
    let measure_from = started + Duration::from_secs(1);
    let end = measure_from + Duration::from_secs_f64(spec.seconds);
    let counter = Arc::new(AtomicU64::new(0));

    let mut tasks = Vec::new();
    for _ in 0..spec.concurrency {
        // Each worker is its own client with its own connection, as separate
        // callers are; one shared HTTP/2 connection would make its single
        // connection task the bottleneck of the measurement.
        let own = tonic::transport::Channel::from_shared(format!("http://{}", spec.addr))?
            .connect()
            .await?;
        let mut caller = caller(
            spec.transport,
            CustomerBadgeServiceClient::new(own).max_decoding_message_size(16 * 1024 * 1024),
        );
        let (histogram, counts, counter, spec) = (
            histogram.clone(),
            counts.clone(),
            counter.clone(),
            spec.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            loop {
                // Open loop: the next unclaimed arrival of one schedule shared
                // by all workers, so a worker held by a slow call leaves its
                // arrivals to the others (a fixed share per worker would count
                // that worker's own delay as the server's). A call that starts
                // late because every worker was busy counts from its scheduled
                // start (the server's stall is not hidden); one that starts
                // late only by the timer's granularity (up to a millisecond)
                // counts from when it was sent.
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let scheduled = match spec.rate {
                    Some(r) => {
                        let at = started + Duration::from_secs_f64(n as f64 / r as f64);
                        if at >= end {
                            break;
                        }
                        let idle = Instant::now() < at;
                        tokio::time::sleep_until(at.into()).await;
                        if idle { Instant::now() } else { at }
                    }
                    None => {
                        let now = Instant::now();
                        if now >= end {
                            break;
                        }
                        now
                    }
                };
                let answer = caller.call(&spec, n).await;
                let done = Instant::now();
                if scheduled < measure_from {
                    continue;
                }
                let slot = match answer {
                    Answer::Ok => {
                        let _ = local.record((done - scheduled).as_micros().max(1) as u64);
                        0
                    }
                    Answer::Shed => 1,
                    Answer::Failed => 2,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
            let _ = histogram.lock().await.add(&local);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let h = histogram.lock().await;
    let ms = |q: f64| (h.value_at_quantile(q) as f64 / 10.0).round() / 100.0;
    let ok = counts[0].load(Ordering::Relaxed);
    Ok(Outcome {
        spec: spec.clone(),
        ok,
        shed: counts[1].load(Ordering::Relaxed),
        errors: counts[2].load(Ordering::Relaxed),
        throughput: (ok as f64 / spec.seconds).round(),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
    })
}

pub async fn run(spec: Spec) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(&measure(&spec).await?)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_zipf_spreads() {
        let count = |s: &Spread, k: usize| (0..100_000).filter(|&n| s.pick(n) == k).count();
        let uniform = Spread::new(10, 0.0);
        for k in 0..10 {
            let c = count(&uniform, k);
            assert!((9_000..11_000).contains(&c), "org {k}: {c}");
        }
        // Zipf 1.0 over 1,000 orgs: the first takes 1 / H(1000), 13.4 %.
        let zipf = Spread::new(1000, 1.0);
        let first = count(&zipf, 0);
        assert!((12_500..14_300).contains(&first), "{first}");
        assert!(count(&zipf, 1) < first);
    }
}
