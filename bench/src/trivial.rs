//! The reference servers: a trivial tonic handler and a trivial axum handler
//! that answer every list call with a canned answer, captured from the real
//! service, so the bytes on the wire are the same size. They do no
//! authentication, no database work and no encoding beyond the transport's
//! own: what they reach is the ceiling of the transport on this machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::header;
use badges::proto::customer_badge_service_server::{
    CustomerBadgeService, CustomerBadgeServiceServer,
};
use badges::proto::{
    GetCustomerBadgeRequest, GetCustomerBadgeResponse, ListCustomerBadgesRequest,
    ListCustomerBadgesResponse,
};
use prost::Message;

#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Where the trivial tonic server listens.
    #[arg(long)]
    pub grpc_listen: SocketAddr,
    /// Where the trivial axum server listens.
    #[arg(long)]
    pub rest_listen: SocketAddr,
    /// The canned gRPC answer: a `ListCustomerBadgesResponse`, protobuf-encoded.
    #[arg(long)]
    pub grpc_answer: PathBuf,
    /// The canned REST answer: a JSON body.
    #[arg(long)]
    pub rest_answer: PathBuf,
}

struct Canned(ListCustomerBadgesResponse);

#[tonic::async_trait]
impl CustomerBadgeService for Canned {
    async fn list_customer_badges(
        &self,
        _request: tonic::Request<ListCustomerBadgesRequest>,
    ) -> Result<tonic::Response<ListCustomerBadgesResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.clone()))
    }

    /// Not a reference the benchmark uses.
    async fn get_customer_badge(
        &self,
        _request: tonic::Request<GetCustomerBadgeRequest>,
    ) -> Result<tonic::Response<GetCustomerBadgeResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the trivial server answers the list call only",
        ))
    }

    /// Not a reference the benchmark uses.
    async fn get_badges_for_customer(
        &self,
        _request: tonic::Request<badges::proto::GetBadgesForCustomerRequest>,
    ) -> Result<tonic::Response<badges::proto::GetBadgesForCustomerResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the trivial server answers the list call only",
        ))
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let answer = ListCustomerBadgesResponse::decode(std::fs::read(&args.grpc_answer)?.as_slice())?;
    let body = bytes::Bytes::from(std::fs::read(&args.rest_answer)?);

    let grpc = tonic::transport::Server::builder()
        .add_service(CustomerBadgeServiceServer::new(Canned(answer)))
        .serve(args.grpc_listen);

    let app = axum::Router::new().route(
        "/api_gateway/v1/badges/management/{customer}",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(args.rest_listen).await?;
    let rest = axum::serve(listener, app);

    tokio::select! {
        r = grpc => r?,
        r = rest => r?,
    }
    Ok(())
}
