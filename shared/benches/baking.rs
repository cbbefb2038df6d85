//! Baking and unbaking of PNG and SVG images, on the inputs in `bench/inputs/`.
//!
//! Run with `cargo bench -p accolade --bench baking`. Each input is baked with the assertion
//! JSON alone (`bake-json`) and as a hosted assertion with its URL (`bake-url`), and the
//! `bake-json` output is unbaked.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use accolade::baking::{self, BadgeFormat, BakeInput};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ASSERTION_URL: &str =
    "https://badges.music.example.org/assertions/6f1c2a4e-8d3b-4b7a-9c1e-2f5d7a9b3c41";

/// The inputs timed here: the smallest level artwork of each type and the larger test files.
const INPUTS: [&str; 6] = [
    "levels/engage.png",
    "badge-400-rgba.png",
    "poster-981x941-16bit.png",
    "levels/engage.svg",
    "badge-20k.svg",
    "badge-300k.svg",
];

fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/inputs")
}

fn read(name: &str) -> Vec<u8> {
    let path = inputs_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; run python3 bench/inputs/generate.py",
            path.display()
        )
    })
}

fn bench_baking(c: &mut Criterion) {
    let assertion = String::from_utf8(read("assertion.json")).expect("assertion.json is UTF-8");
    for name in INPUTS {
        let image = read(name);
        let short = name.rsplit('/').next().unwrap_or(name);
        let kind = if short.ends_with(".png") {
            "png"
        } else {
            "svg"
        };
        let baked = baking::bake(&image, BadgeFormat::V2, BakeInput::json(&assertion))
            .expect("the input bakes");

        let mut group = c.benchmark_group(format!("{kind}/{short}"));
        group.throughput(Throughput::Bytes(image.len() as u64));
        group.bench_function("bake-json", |b| {
            b.iter(|| {
                baking::bake(
                    black_box(&image),
                    BadgeFormat::V2,
                    BakeInput::json(&assertion),
                )
            })
        });
        group.bench_function("bake-url", |b| {
            b.iter(|| {
                baking::bake(
                    black_box(&image),
                    BadgeFormat::V2,
                    BakeInput::hosted(&assertion, ASSERTION_URL),
                )
            })
        });
        group.bench_function("unbake", |b| b.iter(|| baking::unbake(black_box(&baked))));
        group.finish();
    }
}

criterion_group!(benches, bench_baking);
criterion_main!(benches);
