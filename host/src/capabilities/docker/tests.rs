use super::*;

#[test]
fn a_missing_socket_is_a_clear_error() {
    let engine = Engine::parse("unix:///nonexistent/cairn-docker.sock").unwrap();
    let started = Instant::now();
    let f = block(Instant::now() + Duration::from_secs(5), async {
        let d = client(&engine).await?;
        inspect(&d, "x").await
    })
    .unwrap_err();
    assert_eq!(
        phrase(Op::Inspect, &engine, Some("x"), f, started.elapsed()),
        "docker: inspect container `x` on unix:///nonexistent/cairn-docker.sock: cannot connect: no such socket"
    );
}

#[test]
fn a_silent_engine_ends_at_the_deadline() {
    // A listener that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let engine = Engine::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let started = Instant::now();
    let f = block(Instant::now() + Duration::from_millis(300), async {
        let d = client(&engine).await?;
        inspect(&d, "x").await
    })
    .unwrap_err();
    assert!(matches!(f, Failure::Timeout), "{f:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
