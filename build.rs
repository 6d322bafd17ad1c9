//! Compiles the API with protox (pure Rust, no protoc on the machine) and
//! generates the tonic services with tonic-prost-build.
//!
//! The descriptor set written for reflection is protox's own encoding, which
//! keeps the `google.api.http` options that a decode into prost-types would drop.

use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "capillary/badges/v1/badges.proto",
    "capillary/badges/v1/customer_badge_service.proto",
    "capillary/badges/v1/badge_admin_service.proto",
    "capillary/badges/v1/badge_catalogue_service.proto",
    "capillary/badges/v1/events.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;

    fs::write(
        out_dir.join("badges_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
