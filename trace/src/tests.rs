use super::*;

fn sample() -> Trace {
    Trace {
        header: RecordConfig {
            component_sha256: "ab".repeat(32),
            guest_imports: vec!["wasi:random/random@0.2.3".into()],
            compress: false,
            policy: crate::RecordPolicy {
                output_bytes: 64,
                ..Default::default()
            },
            generic: vec![
                generic::Function {
                    interface: "wasi:config/store@0.2.0-rc.1".into(),
                    name: "get".into(),
                    params: vec![("key".into(), generic::WitType::String)],
                    result: Some(generic::WitType::Option(Box::new(generic::WitType::F64))),
                    export: false,
                    stream: None,
                    future: None,
                },
                generic::Function {
                    interface: String::new(),
                    name: "tally".into(),
                    params: vec![("n".into(), generic::WitType::S64)],
                    result: Some(generic::WitType::U32),
                    export: true,
                    stream: None,
                    future: None,
                },
                generic::Function {
                    interface: "wasi:filesystem/types@0.3.2".into(),
                    name: "[method]descriptor.read-directory".into(),
                    params: Vec::new(),
                    result: Some(generic::WitType::Result(None, None)),
                    export: false,
                    stream: Some(generic::WitType::Record(vec![
                        (
                            "type".into(),
                            generic::WitType::Enum(vec!["directory".into(), "regular-file".into()]),
                        ),
                        ("name".into(), generic::WitType::String),
                    ])),
                    future: None,
                },
                // Recorded by `opened` (format 11): its result the handle it returns, its
                // future's value apart.
                generic::Function {
                    interface: "wasi:http/types@0.3.2".into(),
                    name: "[static]request.new".into(),
                    params: vec![(
                        "headers".into(),
                        generic::WitType::Own {
                            resource: 0,
                            name: "fields".into(),
                        },
                    )],
                    result: Some(generic::WitType::Own {
                        resource: 1,
                        name: "request".into(),
                    }),
                    export: false,
                    stream: None,
                    future: Some(generic::WitType::Result(
                        None,
                        Some(Box::new(generic::WitType::String)),
                    )),
                },
            ],
        }
        .header(),
        events: vec![
            cli::GetArguments {}.into_event(vec!["app.wasm".into(), "x".into()]),
            random::GetRandomU64 {}.into_event(random::Drawn(u64::MAX)),
            random::GetRandomBytes { len: 4 }.into_event(Bytes(vec![0, 1, 254, 255])),
            clocks::WallClockNow {}.into_event(Datetime {
                seconds: 1_700_000_000,
                nanoseconds: 5,
            }),
            streams::Read {
                stream: StreamId::STDIN,
                len: 4096,
                blocking: true,
            }
            .into_event(Err(StreamError::Failed("broken pipe".into()))),
            streams::Write {
                stream: StreamId::STDOUT,
                op: WriteOp::BlockingWriteAndFlush,
                len: 3,
                hash: Fixed64(output_hash(b"hi\n")),
            }
            .into_event(Ok(())),
            poll::Poll { pollables: 2 }.into_event(vec![1]),
            poll::PollableBlock {}.into_event(()),
            clock(5_000_000_000),
            clock(5_000_000_200),
            clock(5_000_000_400),
            poll::PollableReady {}.into_event(false),
            poll::PollableReady {}.into_event(false),
            clocks::WallClockNow {}.into_event(Datetime {
                seconds: 1_700_000_001,
                nanoseconds: 7,
            }),
            fs::OpenAt {
                fd: 3,
                path_flags: 1,
                path: "input.txt".into(),
                open_flags: 0,
                flags: 1,
            }
            .into_event(Ok(4)),
            fs::Read {
                fd: 4,
                len: 4096,
                offset: 0,
            }
            .into_event(Err(fs::ErrorCode::IsDirectory)),
            sockets::StartConnect {
                protocol: sockets::Protocol::Tcp,
                socket: 0,
                network: 0,
                address: sockets::SocketAddress::Ipv4 {
                    address: [127, 0, 0, 1],
                    port: 5432,
                },
            }
            .into_event(Err(sockets::ErrorCode::WouldBlock)),
            http::FieldsAppend {
                fields: 0,
                name: "x-request-id".into(),
                value: Bytes(b"a1".to_vec()),
            }
            .into_event(Ok(())),
            http::Handle {
                request: 1,
                options: None,
            }
            .into_event(http::Sent {
                head: Box::new(head()),
                result: Ok(2),
            }),
            http::ResponseGet { future: 2 }.into_event(None),
            http::ResponseGet { future: 2 }.into_event(Some(Ok(Err(http::ErrorCode::DnsError(
                http::DnsErrorPayload {
                    rcode: Some("NXDOMAIN".into()),
                    info_code: Some(3),
                },
            ))))),
            cli::Exit {
                status: Status::Err,
            }
            .into_event(()),
            generic::Called {
                function: 0,
                args: vec![abi::Val::String("seed".into())],
            }
            .into_event(Some(abi::Val::Variant(
                1,
                Some(Box::new(abi::Val::F64(f64::NAN))),
            ))),
            streams::Wrote {
                stream: StreamId::STDOUT,
                data: Bytes(b"hi\n".to_vec()),
            }
            .into_event(()),
            generic::Invoked {
                function: 1,
                args: vec![abi::Val::S64(-3)],
            }
            .into_event(()),
            generic::Returned {
                function: 1,
                result: Some(abi::Val::U32(7)),
            }
            .into_event(()),
            generic::Started {
                task: 0,
                function: 0,
                args: vec![abi::Val::String("slow".into())],
            }
            .into_event(()),
            generic::Finished {
                task: 0,
                function: 0,
            }
            .into_event(Some(abi::Val::Variant(0, None))),
            generic::Cancelled {
                task: 1,
                function: 0,
            }
            .into_event(()),
            generic::StreamRead {
                task: 2,
                data: Bytes(b"line\n".to_vec()),
            }
            .into_event(()),
            generic::StreamWrote {
                task: 3,
                data: Bytes(b"out\n".to_vec()),
            }
            .into_event(()),
            generic::StreamValues {
                task: 4,
                function: 2,
                values: vec![abi::Val::Record(vec![
                    abi::Val::Variant(1, None),
                    abi::Val::String("notes.txt".into()),
                ])],
            }
            .into_event(()),
            generic::Opened {
                task: 5,
                function: 3,
                args: vec![abi::Val::Handle(0)],
            }
            .into_event(Some(abi::Val::Handle(0))),
            generic::StreamWrote {
                task: 5,
                data: Bytes(b"body".to_vec()),
            }
            .into_event(()),
            generic::Finished {
                task: 5,
                function: 3,
            }
            .into_event(Some(abi::Val::Variant(0, None))),
        ],
        torn_tail_bytes: 0,
    }
}

fn clock(ns: u64) -> Event {
    clocks::MonotonicClockNow {}.into_event(ns)
}

fn read(stream: u32, data: Vec<u8>) -> Event {
    streams::Read {
        stream: StreamId(stream),
        len: 65536,
        blocking: false,
    }
    .into_event(Ok(Bytes(data)))
}

fn head() -> http::RequestHead {
    http::RequestHead {
        method: http::Method::Get,
        scheme: Some(http::Scheme::Http),
        authority: Some("127.0.0.1:8080".into()),
        path_with_query: Some("/x?y=1".into()),
        headers: vec![("x-request-id".into(), Bytes(b"a1".to_vec()))],
    }
}

#[test]
fn http_exchanges_are_summarised() {
    let events = vec![
        http::Handle {
            request: 1,
            options: None,
        }
        .into_event(http::Sent {
            head: Box::new(head()),
            result: Ok(2),
        }),
        http::ResponseGet { future: 2 }.into_event(None),
        http::ResponseGet { future: 2 }.into_event(Some(Ok(Ok(3)))),
        http::GetStatus { response: 3 }.into_event(404),
        http::Consume { of: 3 }.into_event(Ok(4)),
        http::IncomingStream { body: 4 }.into_event(Ok(StreamId(3))),
        read(3, vec![b'x'; 10]),
        read(3, vec![]),
        read(3, vec![b'y'; 5]),
        http::Handle {
            request: 5,
            options: None,
        }
        .into_event(http::Sent {
            head: Box::new(head()),
            result: Err(http::ErrorCode::ConnectionRefused),
        }),
    ];
    let lines: Vec<String> = http::exchanges(&events)
        .iter()
        .map(|x| x.to_string())
        .collect();
    assert_eq!(
        lines,
        vec![
            "GET http://127.0.0.1:8080/x?y=1 -> 404, 15 B body, 2 chunks",
            "GET http://127.0.0.1:8080/x?y=1 -> connection-refused",
        ]
    );
}

fn wrote(stream: u32, data: &[u8]) -> Event {
    streams::Wrote {
        stream: StreamId(stream),
        data: Bytes(data.to_vec()),
    }
    .into_event(())
}

#[test]
fn exchanges_keep_the_bodies_sent_and_read() {
    let events = vec![
        // A handler's incoming request, whose body it reads.
        http::Incoming {}.into_event(http::IncomingRequest {
            head: Box::new(head()),
            request: 0,
            outparam: 1,
        }),
        http::Consume { of: 0 }.into_event(Ok(2)),
        http::IncomingStream { body: 2 }.into_event(Ok(StreamId(3))),
        read(3, b"apple".to_vec()),
        // An outgoing request with a body: the body is made before the request is sent.
        http::NewRequest { headers: 4 }.into_event(5),
        http::Body { of: 5 }.into_event(Ok(6)),
        http::Handle {
            request: 5,
            options: None,
        }
        .into_event(http::Sent {
            head: Box::new(head()),
            result: Ok(7),
        }),
        http::OutgoingStream { body: 6 }.into_event(Ok(StreamId(4))),
        wrote(4, b"ping"),
        http::ResponseGet { future: 7 }.into_event(Some(Ok(Ok(8)))),
        http::Consume { of: 8 }.into_event(Ok(9)),
        http::IncomingStream { body: 9 }.into_event(Ok(StreamId(5))),
        read(5, b"pong".to_vec()),
        // The handler's response, and its body as the trace keeps it.
        http::NewResponse { headers: 10 }.into_event(11),
        http::Body { of: 11 }.into_event(Ok(12)),
        http::SetResponse {
            outparam: 1,
            response: Ok(11),
        }
        .into_event(Some(http::ResponseHead {
            status: 200,
            headers: vec![],
        })),
        http::OutgoingStream { body: 12 }.into_event(Ok(StreamId(6))),
        wrote(6, b"answer"),
    ];
    let mut x = http::Exchanges::with_body_limit(1024);
    events.iter().for_each(|e| x.push(e));
    let x = x.finish();
    let bodies: Vec<(&[u8], &[u8])> = x
        .iter()
        .map(|x| (x.request_body.as_slice(), x.body.as_slice()))
        .collect();
    assert_eq!(
        bodies,
        vec![
            (&b"apple"[..], &b"answer"[..]),
            (&b"ping"[..], &b"pong"[..])
        ]
    );
    assert!(
        x[0].details()
            .contains("  request body: \"apple\"\n  body: \"answer\"\n")
    );
}

#[test]
fn a_changed_header_is_named() {
    let call = |v: &[u8]| {
        http::FieldsAppend {
            fields: 0,
            name: "x-request-id".into(),
            value: Bytes(v.to_vec()),
        }
        .into_call()
    };
    assert_eq!(
        call(b"a1").difference(&call(b"b7")).as_deref(),
        Some("header x-request-id: expected \"a1\", actual \"b7\"")
    );
    assert_eq!(
        call(b"a1").to_string(),
        "http fields 0 append x-request-id: \"a1\""
    );
}

fn zstd(data: &[u8]) -> Option<Vec<u8>> {
    zstd::bulk::compress(data, 3).ok()
}

#[test]
fn binary_round_trip() {
    let t = sample();
    assert_eq!(Trace::from_bytes(&t.to_bytes(None)).unwrap(), t);
    assert_eq!(Trace::from_bytes(&t.to_bytes(Some(zstd))).unwrap(), t);
}

#[test]
fn a_trace_writer_makes_blocks_of_the_size_asked() {
    let t = sample();
    let events: Vec<Event> = (0..2000).map(|i| clock(i * 1000)).collect();
    let write = |block_bytes: Option<usize>| {
        let mut w = TraceWriter::new(&t.header, Some(zstd), Vec::new()).unwrap();
        if let Some(b) = block_bytes {
            w = w.with_block_bytes(b);
        }
        for e in &events {
            w.push(e).unwrap();
        }
        w.finish().unwrap().0
    };
    let (default, small) = (write(None), write(Some(256)));
    let scan = |bytes: &[u8]| block::scan_events(bytes).unwrap();
    assert_eq!(scan(&default).blocks, 1);
    assert!(scan(&small).blocks > 4, "{}", scan(&small).blocks);
    assert_eq!(Trace::from_bytes(&small).unwrap().events, events);
}

#[test]
fn format_3_traces_read_as_they_are_and_redactions_round_trip() {
    let mut t = sample();
    t.header.format = 3;
    let bytes = t.to_bytes(None);
    // Written in the current format; a format-3 header in front of the same blocks reads too.
    let mut current = Vec::new();
    encode_header(&t.header.current(), &mut current);
    let mut old = Vec::new();
    encode_header(&t.header, &mut old);
    old.extend_from_slice(&bytes[current.len()..]);
    let read = Trace::from_bytes(&old).unwrap();
    assert_eq!(read.header.format, 3);
    assert_eq!(read.events, t.events);
    let json = t
        .to_json()
        .replace("\"wasm-rr-trace\": 4", "\"wasm-rr-trace\": 3");
    assert_eq!(Trace::from_json(&json).unwrap().events, t.events);

    let mut t = sample();
    t.header.redacted = vec![
        redact::Redacted::Env("TOKEN".into()),
        redact::Redacted::header("Cookie"),
        redact::Redacted::file("/data/key"),
    ];
    let json = t.to_json();
    assert!(
        json.contains(
            r#""redacted": [
    {
      "env": "TOKEN"
    },
    {
      "header": "cookie"
    },
    {
      "file": "/data/key"
    }
  ]"#
        ),
        "{json}"
    );
    assert_eq!(Trace::from_json(&json).unwrap(), t);
    assert_eq!(Trace::from_bytes(&t.to_bytes(None)).unwrap(), t);
}

#[test]
fn json_round_trip_is_lossless() {
    let t = sample();
    let json = t.to_json();
    assert!(
        json.contains(
            "{\"call\":{\"random\":{\"get-random-bytes\":{\"len\":4}}},\"answer\":\"0001feff\"}"
        ),
        "{json}"
    );
    assert!(json.contains("\"wasm-rr-trace\": 11"), "{json}");
    // An async call's subtask: its start, and its return with the result.
    assert!(
        json.contains(r#"{"call":{"generic":{"started":{"task":0,"function":0,"args":[{"String":"slow"}]}}},"answer":null,"wave":"task 0: wasi:config/store.get(\"slow\") started"},"#)
            && json.contains(r#"{"call":{"generic":{"finished":{"task":0,"function":0}}},"answer":{"Variant":[0,null]},"wave":"task 0: wasi:config/store.get returned -> none"}"#)
            && json.contains(r#"{"call":{"generic":{"cancelled":{"task":1,"function":0}}},"answer":null,"wave":"task 1: wasi:config/store.get cancelled"}"#),
        "{json}"
    );
    // A generic call: its values as stored, and in WAVE for people.
    assert!(
        json.contains(r#"{"call":{"generic":{"called":{"function":0,"args":[{"String":"seed"}]}}},"answer":{"Variant":[1,{"F64":"nan:0x7ff8000000000000"}]},"wave":"wasi:config/store.get(\"seed\") -> some(nan)"}"#),
        "{json}"
    );
    // A library's export call, and what it returned.
    assert!(
        json.contains(r#"{"call":{"generic":{"invoked":{"function":1,"args":[{"S64":-3}]}}},"answer":null,"wave":"export call tally(-3)"},"#)
            && json.contains(r#"{"call":{"generic":{"returned":{"function":1,"result":{"U32":7}}}},"answer":null,"wave":"export tally returned 7"}"#),
        "{json}"
    );
    // A chunk of a stream of values (format 10), in WAVE by the type its function's `stream`
    // gives.
    assert!(
        json.contains(r#"{"call":{"generic":{"stream-values":{"task":4,"function":2,"values":[{"Record":[{"Variant":[1,null]},{"String":"notes.txt"}]}]}}},"answer":null,"wave":"task 4: read [{type: regular-file, name: \"notes.txt\"}]"}"#),
        "{json}"
    );
    // A call that returns a handle beside a future (format 11), and its future's value, in
    // WAVE by the type its function's `future` gives.
    assert!(
        json.contains(r#"{"call":{"generic":{"opened":{"task":5,"function":3,"args":[{"Handle":0}]}}},"answer":{"Handle":0},"wave":"task 5: wasi:http/types.[static]request.new(fields#0) opened -> request#0"}"#)
            && json.contains(r#"{"call":{"generic":{"finished":{"task":5,"function":3}}},"answer":{"Variant":[0,null]},"wave":"task 5: wasi:http/types.[static]request.new returned -> ok"}"#),
        "{json}"
    );
    let back = Trace::from_json(&json).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.to_bytes(None), t.to_bytes(None));
}

fn one_block_per_event(t: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    encode_header(&t.header, &mut out);
    let mut w = BlockWriter::new(None);
    for e in &t.events {
        w.push(e);
        w.finish_block(&mut out);
    }
    out
}

#[test]
fn torn_tail_keeps_whole_blocks() {
    let t = sample();
    let bytes = one_block_per_event(&t);
    let cut = &bytes[..bytes.len() - 1];
    let read = Trace::from_bytes(cut).unwrap();
    assert_eq!(read.events, t.events[..t.events.len() - 1]);
    assert!(read.torn_tail_bytes > 0);
    let scan = scan(cut).unwrap();
    assert_eq!(scan.events as usize, t.events.len() - 1);
    assert_eq!(scan.whole_len, cut.len() - read.torn_tail_bytes);
}

#[test]
fn every_flipped_bit_is_caught() {
    let t = sample();
    let bytes = t.to_bytes(None);
    let header_len = {
        let mut h = Vec::new();
        encode_header(&t.header, &mut h);
        h.len()
    };
    for at in header_len..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << bit;
            match Trace::from_bytes(&bad) {
                Err(TraceError::Corrupt { block: 0, .. }) => {}
                Ok(read) => panic!("flip at {at}.{bit} read as {:?}", read.events),
                Err(e) => panic!("flip at {at}.{bit}: {e}"),
            }
        }
    }
}

#[test]
fn a_zero_filled_tail_is_a_torn_tail() {
    let t = sample();
    let mut bytes = one_block_per_event(&t);
    let whole = bytes.len();
    bytes.extend_from_slice(&[0; 4096]);
    let read = Trace::from_bytes(&bytes).unwrap();
    assert_eq!(read.events, t.events);
    assert_eq!(read.torn_tail_bytes, bytes.len() - whole);
}

#[test]
fn a_source_that_comes_up_short_ends_instead_of_hanging() {
    struct Short<'a>(&'a [u8]);
    impl Source for Short<'_> {
        fn size(&self) -> u64 {
            // Claims more than it gives.
            self.0.len() as u64 + 1_000_000
        }
        fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
            let mut s = self.0;
            Source::read(&mut s, offset, len, out)
        }
    }
    let t = sample();
    let bytes = t.to_bytes(None);
    let (_, mut reader) = Reader::new(Short(&bytes)).unwrap();
    let mut n = 0;
    while reader.next_event().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, t.events.len());
}

#[test]
fn format_1_is_refused_by_name() {
    #[derive(serde::Serialize)]
    struct V1 {
        #[serde(rename = "wasm-rr-trace")]
        format: u32,
        #[serde(rename = "wasm-rr")]
        wasm_rr: String,
    }
    let mut v1 = Vec::new();
    ciborium::ser::into_writer(
        &V1 {
            format: 1,
            wasm_rr: "0.1.0".into(),
        },
        &mut v1,
    )
    .unwrap();
    let err = Trace::from_bytes(&v1).unwrap_err();
    assert_eq!(err, TraceError::UnsupportedVersion(1));
    assert!(
        err.to_string()
            .starts_with("this trace is in format version 1, which wasm-rr 0.1 wrote and reads"),
        "{err}"
    );
    let json = "{\"header\": {\"wasm-rr-trace\": 1, \"wasm-rr\": \"0.1.0\"}, \"events\": []}";
    assert_eq!(
        Trace::from_json(json).unwrap_err(),
        TraceError::UnsupportedVersion(1)
    );
}

#[test]
fn other_data_is_not_a_trace() {
    let err = Trace::from_bytes(b"\0asm\x0d\0\x01\0").unwrap_err();
    assert!(matches!(err, TraceError::BadHeader(_)), "{err:?}");
    assert_eq!(Trace::from_bytes(b"").unwrap_err(), TraceError::Empty);
}

#[test]
fn calls_describe_arguments() {
    let e = random::GetRandomBytes { len: 16 }.into_event(Bytes(vec![1; 16]));
    assert_eq!(
        e.call.to_string(),
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
    t.events.push(
        streams::Read {
            stream: StreamId::STDIN,
            len: 100_000,
            blocking: true,
        }
        .into_event(Ok(Bytes(big.clone()))),
    );
    t.events
        .push(random::GetRandomBytes { len: 100_000 }.into_event(Bytes(big)));
    for compress in [None, Some(zstd as Compressor)] {
        assert_eq!(Trace::from_bytes(&t.to_bytes(compress)).unwrap(), t);
    }
    assert_eq!(Trace::from_json(&t.to_json()).unwrap(), t);
}

/// Bytes per event of a trace of `events` past the header.
fn bytes_per_event(events: Vec<Event>, compress: Option<Compressor>) -> f64 {
    let n = events.len() as f64;
    let t = Trace {
        header: sample().header,
        events,
        torn_tail_bytes: 0,
    };
    let mut h = Vec::new();
    encode_header(&t.header, &mut h);
    (t.to_bytes(compress).len() - h.len()) as f64 / n
}

#[test]
fn the_binary_form_is_compact() {
    // Random numbers: one byte of event kind and the 8 bytes of the value.
    let mut x = 0x9e3779b97f4a7c15u64;
    let random: Vec<Event> = (0..10_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            random::GetRandomU64 {}.into_event(random::Drawn(x))
        })
        .collect();
    let per = bytes_per_event(random.clone(), None);
    assert!((9.0..9.01).contains(&per), "{per}");
    // Compressed, the runs of one-byte events vanish beside the column of values.
    let per = bytes_per_event(random, Some(zstd));
    assert!(per < 8.1, "{per}");
    // Clock readings 100 to 300 ns apart: one byte of kind, two of difference at most.
    let mut now = 1_000_000_000u64;
    let clock: Vec<Event> = (0..10_000u64)
        .map(|i| {
            now += 100 + (i * 37) % 200;
            clock(now)
        })
        .collect();
    assert!(bytes_per_event(clock, None) <= 3.01);
    // The same answer again: one byte.
    let ready = vec![poll::PollableReady {}.into_event(false); 1000];
    assert!(bytes_per_event(ready, None) < 1.02);
}

#[test]
fn events_stay_small() {
    // Every event is moved a few times between the decoder and the guest: big ones cost
    // replay time (large answers, such as `descriptor-stat`, are boxed).
    assert!(
        std::mem::size_of::<Event>() <= 128,
        "{}",
        std::mem::size_of::<Event>()
    );
}

/// A trace whose one block is `data` stored with `codec` (as a crafted trace would be).
fn crafted(codec: block::Codec, events: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_header(&sample().header, &mut out);
    block::write_block(codec, events, data, &mut out);
    out
}

#[test]
fn a_zstd_bomb_is_refused_at_the_limit() {
    // 65 MiB of zeros compress to a few kilobytes.
    let zeros = vec![0u8; limits::MAX_BLOCK_BYTES as usize + 1024 * 1024];
    let bomb = crafted(block::Codec::Zstd, 1, &zstd(&zeros).unwrap());
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    drop(zeros);
    let e = Trace::from_bytes(&bomb).unwrap_err();
    assert!(matches!(e, TraceError::TooLarge { block: 0, .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("the trace is refused: block 0 at byte ")
            && text.ends_with(": it decompresses to more than the maximum block size (64 MiB)"),
        "{text}"
    );
    // At the limit exactly, it is read (and then found not to hold events).
    let at_limit = crafted(
        block::Codec::Zstd,
        1,
        &zstd(&vec![0u8; limits::MAX_BLOCK_BYTES as usize]).unwrap(),
    );
    assert!(matches!(
        Trace::from_bytes(&at_limit),
        Err(TraceError::Corrupt { block: 0, .. })
    ));
}

#[test]
fn a_block_declaring_more_than_the_limit_is_refused_before_it_is_read() {
    // A head that declares 4 GiB - 1 bytes of data, with a valid checksum of its own, and no
    // data after it: refused at once, not taken for a torn tail to wait for.
    let mut out = Vec::new();
    encode_header(&sample().header, &mut out);
    let head = block::BlockHead {
        codec: block::Codec::Raw,
        events: 1,
        len: u32::MAX,
        data_crc32c: 0,
    };
    let start = out.len();
    out = postcard::to_extend(&head, out).unwrap();
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&[1; 100]);
    let e = Trace::from_bytes(&out).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "the trace is refused: block 0 at byte {start}: it declares 4294967295 bytes of data, more than the maximum block size (64 MiB)"
        )
    );
}

#[test]
fn a_header_larger_than_the_limit_is_refused() {
    // A CBOR map whose first key is a text string declared 1 TiB long, followed by 17 MiB.
    let mut bytes = vec![0xbf, 0x7b];
    bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
    bytes.resize(limits::MAX_HEADER_BYTES as usize + 1024 * 1024, b'a');
    let e = Trace::from_bytes(&bytes).unwrap_err().to_string();
    assert!(e.starts_with("not a wasm-rr trace (bad header: "), "{e}");
}

#[test]
fn a_timeline_has_lanes_ticks_spans_and_text_within_its_bounds() {
    use timeline::{MAX_TICKS, TimelineBuilder};
    let trace = sample();
    let storage = summary::Storage::default();

    // The whole trace: one lane per interface (stdio apart), every event's text.
    let mut b = TimelineBuilder::new(&trace.header, 0, u64::MAX, usize::MAX);
    trace.events.iter().for_each(|e| b.push(e));
    let t = b.finish(storage);
    assert_eq!(t.events, trace.events.len() as u64);
    assert_eq!(t.lane.len(), trace.events.len());
    assert_eq!(
        &t.lanes[..6],
        [
            "wasi:cli",
            "wasi:random",
            "wasi:clocks",
            "stdin",
            "stdout",
            "wasi:io/poll"
        ]
    );
    for (i, e) in trace.events.iter().enumerate() {
        assert_eq!(t.lanes[t.lane[i] as usize], timeline::lane_name(e));
        assert_eq!(t.text[i], format!("#{i} {e}"));
    }
    assert_eq!(
        t.ticks,
        [(8, 5_000_000_000), (9, 5_000_000_200), (10, 5_000_000_400)]
    );
    assert_eq!(t.origin_ns, Some(5_000_000_000));
    assert!(
        t.summary.starts_with("app: component sha256 abab"),
        "{}",
        t.summary
    );
    let files: Vec<_> = t.spans.iter().filter(|s| s.kind == "file").collect();
    assert_eq!(files.len(), 1, "{:?}", t.spans);
    assert_eq!((files[0].label.as_str(), files[0].from), ("input.txt", 14));

    // A window, and a text budget of the first two events' text.
    let budget = t.text[8].len() + t.text[9].len();
    let mut b = TimelineBuilder::new(&trace.header, 8, 10, budget);
    trace.events.iter().for_each(|e| b.push(e));
    let w = b.finish(storage);
    assert_eq!(
        (w.first, w.lane.len(), w.lanes.clone()),
        (8, 3, vec!["wasi:clocks"])
    );
    assert_eq!(w.text, t.text[8..10]);
    assert_eq!(w.ticks.len(), 3);
    assert!(w.spans.is_empty(), "{:?}", w.spans);

    // Many clock readings: every k-th is kept, in order, the first among them.
    let mut b = TimelineBuilder::new(&trace.header, 0, u64::MAX, 0);
    let n = 10 * MAX_TICKS as u64 + 7;
    (0..n).for_each(|i| b.push(&clock(1000 + i)));
    let m = b.finish(storage);
    assert!(m.ticks.len() <= MAX_TICKS && m.ticks.len() > MAX_TICKS / 4);
    assert_eq!(m.ticks[0], (0, 1000));
    let stride = m.ticks[1].0;
    assert!(stride.is_power_of_two() && stride >= 8, "{stride}");
    assert!(
        m.ticks
            .windows(2)
            .all(|w| w[1].0 - w[0].0 == stride && w[1].1 - w[0].1 == stride)
    );
    assert!(m.text.is_empty());
}

#[test]
fn record_config_keeps_its_policy() {
    let old = RecordConfig {
        component_sha256: "ab".repeat(32),
        guest_imports: vec![],
        compress: true,
        policy: RecordPolicy::default(),
        generic: Vec::new(),
    };
    // A configuration without a policy (as wrapped before policies existed) records every run.
    assert_eq!(RecordConfig::from_cbor(&old.to_cbor()), Ok(old.clone()));
    let capped = RecordConfig {
        policy: RecordPolicy {
            sample: 10,
            max_traces: Some(1000),
            max_trace_bytes: Some(1 << 30),
            when_full: WhenFull::Rotate,
            output_bytes: u64::MAX,
        },
        ..old
    };
    assert_eq!(RecordConfig::from_cbor(&capped.to_cbor()), Ok(capped));
}
