//! badges: which badges a loyalty customer holds, could still earn, or has
//! lost, over gRPC and the upstream JSON API.

pub mod allocator;
pub mod app;
pub mod application;
pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod limits;
pub mod observe;
pub mod rest;
pub mod retention;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod wire;

/// Generated from `proto/capillary/badges/v1`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("capillary.badges.v1");

    /// The descriptor set of this API, with its `google.api.http` options.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/badges_descriptor.bin"));
}
