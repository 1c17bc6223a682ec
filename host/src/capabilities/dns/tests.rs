//! Tests of `dns`.

use super::*;

#[test]
fn resolvers() {
    assert_eq!(parse_resolver("127.0.0.1"), Ok(("127.0.0.1".into(), 53)));
    assert_eq!(
        parse_resolver("127.0.0.1:58053"),
        Ok(("127.0.0.1".into(), 58053))
    );
    assert_eq!(parse_resolver("::1"), Ok(("::1".into(), 53)));
    assert_eq!(parse_resolver("[::1]:5353"), Ok(("::1".into(), 5353)));
    assert_eq!(
        parse_resolver("ns1.example.com"),
        Ok(("ns1.example.com".into(), 53))
    );
    assert!(parse_resolver("").is_err());
    assert!(parse_resolver("a b:53").is_err());
    assert!(parse_resolver("host:x").is_err());
    assert_eq!(host_port("::1", 53), "[::1]:53");
}

#[test]
fn rcodes_read_like_dig() {
    assert_eq!(rcode_name(ResponseCode::NXDomain), "NXDOMAIN");
    assert_eq!(rcode_name(ResponseCode::NoError), "NOERROR");
    assert_eq!(rcode_name(ResponseCode::Unknown(3841)), "RCODE3841");
}

#[test]
fn txt_is_quoted_as_in_a_zone_file() {
    let txt = hickory_proto::rr::rdata::TXT::new(vec!["v=spf1 -all".into(), "a \"b\"".into()]);
    assert_eq!(rdata_text(&RData::TXT(txt)), r#""v=spf1 -all" "a \"b\"""#);
}

/// A resolver on a udp socket that answers every query with one A
/// record (or NXDOMAIN for `missing.`), after `drop_first` queries
/// ignored.
fn fake_resolver(drop_first: usize) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut seen = 0;
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            seen += 1;
            if seen <= drop_first {
                continue;
            }
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
            r.metadata.authoritative = true;
            r.add_queries(q.queries.clone());
            let name = q.queries[0].name.clone();
            if name.to_string() == "missing.example.test." {
                r.metadata.response_code = ResponseCode::NXDomain;
            } else {
                r.add_answer(Record::from_rdata(
                    name,
                    60,
                    RData::A("192.0.2.7".parse().unwrap()),
                ));
            }
            let _ = sock.send_to(&r.to_vec().unwrap(), from);
        }
    });
    addr
}

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

#[test]
fn answers_and_nxdomain() {
    let server = fake_resolver(0);
    let name = Name::from_utf8("www.example.test.").unwrap();
    let m = ask(server, &name, RecordType::A, false, soon(5)).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(rdata_text(&m.answers[0].data), "192.0.2.7");
    let name = Name::from_utf8("missing.example.test.").unwrap();
    let m = ask(server, &name, RecordType::A, false, soon(5)).unwrap();
    assert_eq!(rcode_name(m.metadata.response_code), "NXDOMAIN");
}

#[test]
fn a_lost_query_is_sent_again() {
    let server = fake_resolver(1);
    let name = Name::from_utf8("www.example.test.").unwrap();
    let started = Instant::now();
    let m = ask(server, &name, RecordType::A, false, soon(5)).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn a_silent_resolver_times_out_by_the_deadline() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let name = Name::from_utf8("www.example.test.").unwrap();
    let started = Instant::now();
    let e = ask(
        silent.local_addr().unwrap(),
        &name,
        RecordType::A,
        false,
        Instant::now() + Duration::from_millis(400),
    )
    .unwrap_err();
    assert_eq!(e, Failure::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_closed_port_is_refused() {
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let name = Name::from_utf8("www.example.test.").unwrap();
    let e = ask(closed, &name, RecordType::A, false, soon(3)).unwrap_err();
    assert_eq!(e, Failure::Refused);
    let e = ask(closed, &name, RecordType::A, true, soon(3)).unwrap_err();
    assert_eq!(e, Failure::Refused);
}
