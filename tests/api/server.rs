//! Health, readiness and graceful shutdown of the real server.

use std::time::Duration;

use badges::server::{LIVENESS, READINESS};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::fixture::NOW;
use crate::common::{TestServer, backends};

async fn status(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

#[tokio::test]
async fn readiness_follows_the_database_and_shutdown_drains() {
    for backend in backends() {
        let mut server = TestServer::start(backend, NOW).await;
        let mut health = HealthClient::new(server.channel().await);

        let mut ready = false;
        for _ in 0..50 {
            if status(&mut health, READINESS).await == ServingStatus::Serving as i32 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "{backend:?}: readiness never turned SERVING");
        assert_eq!(
            status(&mut health, LIVENESS).await,
            ServingStatus::Serving as i32
        );
        assert_eq!(
            status(&mut health, "capillary.badges.v1.CustomerBadgeService").await,
            ServingStatus::Serving as i32
        );
        assert_eq!(
            health
                .check(HealthCheckRequest {
                    service: "no.such.Service".into()
                })
                .await
                .unwrap_err()
                .code(),
            tonic::Code::NotFound
        );

        // A call in flight (a readiness watch) sees NOT_SERVING when shutdown
        // begins, and the server finishes once that call ends.
        let mut watch = health
            .watch(HealthCheckRequest {
                service: READINESS.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            watch.message().await.unwrap().unwrap().status,
            ServingStatus::Serving as i32
        );
        server.begin_shutdown();
        let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
            .await
            .expect("readiness changed in time")
            .unwrap()
            .unwrap();
        assert_eq!(next.status, ServingStatus::NotServing as i32, "{backend:?}");
        drop(watch);
        drop(health);
        tokio::time::timeout(Duration::from_secs(10), server.stop())
            .await
            .expect("server stopped in time")
            .expect("server stopped cleanly");
    }
}
