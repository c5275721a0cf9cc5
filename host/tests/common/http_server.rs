//! A loopback HTTP/1.1 server (hyper) for the `wasi:http` tests and benchmark. It binds port 0
//! before it returns, so a test knows the address before any guest runs; it stops when dropped.
//!
//! Routes:
//! - `GET /hello`: `hello`;
//! - `GET /chunked`: `one,` `two,` `three` as three chunks, then the trailer `x-checksum: 42`
//!   (hyper sends trailers to clients that ask with `te: trailers`, and only those the
//!   `trailer` header announces);
//! - `POST /echo`: `received N bytes` for a request body of N bytes;
//! - `GET /cut`: announces 1000 bytes, sends 100 and drops the connection;
//! - `GET /bytes/N`: N bytes, in 64 KiB chunks;
//! - anything else: 404 `no such page`.

#![allow(dead_code)]

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;

type Body = BoxBody<Bytes, std::io::Error>;

/// A running server; dropping it stops it.
pub struct HttpServer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl HttpServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `args` with every `{}` replaced by the server's address.
    pub fn fill(&self, args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.replace("{}", &self.addr)).collect()
    }

    /// Stops the server (and closes its listening socket) now.
    pub fn stop(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

async fn route(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    // Read the whole request body first, on every route: a server that answers before it has
    // read the body closes the connection with unread bytes in it, which resets it under a
    // client still sending (wstd sends GETs with an empty chunked body).
    let received = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    let response = match path.as_str() {
        "/hello" => Response::new(full("hello")),
        "/chunked" => {
            let mut trailers = hyper::HeaderMap::new();
            trailers.insert("x-checksum", "42".parse().unwrap());
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                Ok(Frame::data(Bytes::from("one,"))),
                Ok(Frame::data(Bytes::from("two,"))),
                Ok(Frame::data(Bytes::from("three"))),
                Ok(Frame::trailers(trailers)),
            ];
            let mut r = Response::new(StreamBody::new(stream::iter(frames)).boxed());
            // hyper sends only the trailers the response announces.
            r.headers_mut()
                .insert("trailer", "x-checksum".parse().unwrap());
            r
        }
        "/echo" => Response::new(full(format!("received {received} bytes"))),
        "/cut" => {
            // 100 bytes; then, once hyper has sent them (it writes out what it has when the
            // body is not ready), an error, on which hyper drops the connection.
            let body = stream::unfold(0, |step| async move {
                match step {
                    0 => Some((Ok(Frame::data(Bytes::from(vec![b'x'; 100]))), 1)),
                    1 => {
                        tokio::task::yield_now().await;
                        Some((Err(std::io::Error::other("cut off")), 2))
                    }
                    _ => None,
                }
            });
            let mut r = Response::new(StreamBody::new(body).boxed());
            r.headers_mut()
                .insert("content-length", "1000".parse().unwrap());
            r
        }
        p if p.starts_with("/bytes/") => {
            let total: u64 = p["/bytes/".len()..].parse().unwrap_or(0);
            let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
            let body = stream::unfold(total, move |left| {
                let chunk = chunk.clone();
                async move {
                    if left == 0 {
                        return None;
                    }
                    let n = left.min(chunk.len() as u64);
                    Some((
                        Ok::<_, std::io::Error>(Frame::data(chunk.slice(..n as usize))),
                        left - n,
                    ))
                }
            });
            let mut r = Response::new(StreamBody::new(body).boxed());
            r.headers_mut()
                .insert("content-length", total.to_string().parse().unwrap());
            r
        }
        _ => {
            let mut r = Response::new(full("no such page"));
            *r.status_mut() = hyper::StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(response)
}

/// Starts a server on a loopback port the system picks.
pub fn start() -> HttpServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, hyper::service::service_fn(route))
                    .await;
            });
        }
    });
    HttpServer {
        addr,
        runtime: Some(runtime),
    }
}

/// A response as [`request`] returns it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Header entries, names lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Sends one HTTP/1.1 request to `addr` (`HOST:PORT`) and waits for the whole response.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_string()))
            .collect();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    })
}
