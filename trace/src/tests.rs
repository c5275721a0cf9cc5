use super::*;

fn sample() -> Trace {
    Trace {
        header: RecordConfig {
            component_sha256: "ab".repeat(32),
            guest_imports: vec!["wasi:random/random@0.2.3".into()],
        }
        .header(),
        events: vec![
            Event::GetArguments(vec!["app.wasm".into(), "x".into()]),
            Event::RandomU64(u64::MAX),
            Event::RandomBytes(Bytes(vec![0, 1, 254, 255])),
            Event::WallClockNow(Datetime {
                seconds: 1_700_000_000,
                nanoseconds: 5,
            }),
            Event::Read {
                stream: StreamId::Stdin,
                len: 4096,
                blocking: true,
                result: Err(StreamError::Failed("broken pipe".into())),
            },
            Event::Write {
                stream: StreamId::Stdout,
                op: WriteOp::BlockingWriteAndFlush,
                len: 3,
                hash: output_hash(b"hi\n"),
                result: Ok(()),
            },
            Event::Poll {
                pollables: 2,
                ready: vec![1],
            },
            Event::PollableBlock,
            Event::Exit(Status::Err),
        ],
        torn_tail_bytes: 0,
    }
}

#[test]
fn cbor_round_trip() {
    let t = sample();
    assert_eq!(Trace::from_cbor(&t.to_cbor()).unwrap(), t);
}

#[test]
fn json_round_trip_is_lossless() {
    let t = sample();
    let json = t.to_json();
    assert!(json.contains("\"random-bytes\":\"0001feff\""), "{json}");
    assert!(json.contains("\"wasm-rr-trace\": 1"), "{json}");
    let back = Trace::from_json(&json).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.to_cbor(), t.to_cbor());
}

#[test]
fn torn_tail_keeps_whole_items() {
    let t = sample();
    let bytes = t.to_cbor();
    let cut = &bytes[..bytes.len() - 1];
    let read = Trace::from_cbor(cut).unwrap();
    assert_eq!(read.events, t.events[..t.events.len() - 1]);
    assert!(read.torn_tail_bytes > 0);
    let scan = scan_cbor(cut).unwrap();
    assert_eq!(scan.events as usize, t.events.len() - 1);
    assert_eq!(scan.whole_len, cut.len() - read.torn_tail_bytes);
    assert_eq!(&cut[..scan.whole_len], &read.to_cbor()[..]);
}

#[test]
fn corrupt_event_is_reported_with_its_index() {
    let t = sample();
    let mut bytes = Vec::new();
    encode_item(&t.header, &mut bytes);
    encode_item(&t.events[0], &mut bytes);
    encode_item(&"not-an-event", &mut bytes);
    let err = Trace::from_cbor(&bytes).unwrap_err();
    assert!(
        matches!(err, TraceError::BadEvent { index: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("the trace is corrupt: event 1 at byte")
    );
}

#[test]
fn other_data_is_not_a_trace() {
    let err = Trace::from_cbor(b"\0asm\x0d\0\x01\0").unwrap_err();
    assert!(matches!(err, TraceError::BadHeader(_)), "{err:?}");
    assert_eq!(Trace::from_cbor(b"").unwrap_err(), TraceError::Empty);
}

#[test]
fn calls_describe_arguments() {
    let e = Event::RandomBytes(Bytes(vec![1; 16]));
    assert_eq!(
        e.call().to_string(),
        "wasi:random/random.get-random-bytes(16)"
    );
    assert_eq!(
        e.to_string(),
        "wasi:random/random.get-random-bytes(16) -> 16 bytes"
    );
}

#[test]
fn large_byte_strings_round_trip() {
    let mut t = sample();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    t.events.push(Event::Read {
        stream: StreamId::Stdin,
        len: 100_000,
        blocking: true,
        result: Ok(Bytes(big.clone())),
    });
    t.events.push(Event::RandomBytes(Bytes(big)));
    let cbor = t.to_cbor();
    assert_eq!(Trace::from_cbor(&cbor).unwrap(), t);
    let (_, mut reader) = EventReader::new(&cbor).unwrap();
    let mut offsets = Vec::new();
    loop {
        let offset = reader.offset();
        match reader.next_event().unwrap() {
            Some(_) => offsets.push(offset),
            None => break,
        }
    }
    let last = EventReader::event_at(&cbor, *offsets.last().unwrap()).unwrap();
    assert_eq!(&last, t.events.last().unwrap());
    assert_eq!(Trace::from_json(&t.to_json()).unwrap(), t);
}
