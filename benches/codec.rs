//! DL/T 645 codec throughput: frames per second for encoding and decoding a read reply, streaming
//! decode of 10,000 concatenated frames with FE preambles, and value decoding.
//!
//! Run: `cargo bench --workspace --bench codec` (release build); results go to `benches/RESULTS.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ingest::dlt645::{decode_items, Address, DataId, Frame, FrameDecoder};

const STREAM_FRAMES: usize = 10_000;

fn reply() -> Frame {
    // Forward active total 123456.78 kWh.
    Frame::read_reply(
        Address::from_number(202_208_310_002).unwrap_or(Address::WILDCARD),
        DataId::FORWARD_ACTIVE_TOTAL,
        &[0x78, 0x56, 0x34, 0x12],
    )
}

fn codec(c: &mut Criterion) {
    let frame = reply();
    let bytes = frame.encode(4).unwrap_or_default();
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode read reply", |b| {
        b.iter(|| black_box(&frame).encode(4))
    });
    group.bench_function("decode read reply", |b| {
        b.iter(|| Frame::decode(black_box(&bytes)))
    });
    group.finish();

    let mut stream = Vec::new();
    for i in 0..STREAM_FRAMES {
        let address = Address::from_number(i as u64).unwrap_or(Address::WILDCARD);
        let value = [(i % 100) as u8, 0x56, 0x34, 0x12];
        let f = Frame::read_reply(address, DataId::FORWARD_ACTIVE_TOTAL, &value);
        stream.extend(f.encode(4).unwrap_or_default());
    }
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(STREAM_FRAMES as u64));
    group.bench_function("FrameDecoder 10k frames in 512-byte reads", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new();
            let mut frames = 0usize;
            for chunk in stream.chunks(512) {
                decoder.push(chunk);
                while let Some(result) = decoder.next_frame() {
                    frames += usize::from(result.is_ok());
                }
            }
            assert_eq!(frames, STREAM_FRAMES);
        })
    });
    group.finish();

    let mut group = c.benchmark_group("value");
    group.throughput(Throughput::Elements(1));
    let power = [0x00, 0x50, 0x81];
    group.bench_function("decode signed power XX.XXXX", |b| {
        b.iter(|| decode_items(DataId::ACTIVE_POWER, black_box(&power)))
    });
    let block: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    group.bench_function("decode forward energy block (5 items)", |b| {
        b.iter(|| decode_items(DataId::FORWARD_ACTIVE_BLOCK, black_box(&block)))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
