//! Generates the wire types from `proto/provernet/v1/*.proto` (and the part of ONNX's
//! model format that model import reads, `proto/onnx/model.proto`) with prost-build, using the
//! `protoc` shipped by `protoc-bin-vendored` so no system package is needed.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/provernet/v1/envelope.proto",
    "proto/provernet/v1/market.proto",
    "proto/provernet/v1/exchange.proto",
    "proto/provernet/v1/chain.proto",
    "proto/onnx/model.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc: PathBuf = protoc_bin_vendored::protoc_bin_path()?;
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.compile_protos(PROTOS, &["proto"])?;
    Ok(())
}
