//! A small HTTP/1.1 server on loopback for the fakes that stand where no real server can misbehave
//! on purpose (the misbehaving registry, the token issuer): one request per connection, answered
//! by a handler; plain HTTP or TLS with a throwaway CA. It records every request (with its headers,
//! so tests can check which credentials went where) and counts the body bytes it managed to send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// Every value of query parameter `key`, percent-decoded.
    pub fn query(&self, key: &str) -> Vec<String> {
        let Some((_, query)) = self.target.split_once('?') else { return Vec::new() };
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(name, _)| *name == key)
            .map(|(_, value)| percent_decode(value))
            .collect()
    }

    /// The user and password of a `Basic` Authorization header.
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        use base64::Engine;
        let value = self.header("authorization")?;
        let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
        let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 3 <= bytes.len() => {
                let decoded = std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                if let Some(byte) = decoded {
                    out.push(byte);
                    index += 3;
                } else {
                    out.push(b'%');
                    index += 1;
                }
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a reply's body is sent.
#[derive(Clone, Debug)]
pub enum Body {
    /// With a Content-Length.
    Bytes(Vec<u8>),
    /// Chunked, with no Content-Length.
    Chunked(Vec<u8>),
    /// Chunked and never ending: `chunk` repeated at about `bytes_per_second` until the client
    /// goes away (or `limit` bytes).
    Endless { chunk: Vec<u8>, bytes_per_second: u64, limit: u64 },
    /// These bytes one at a time, `delay` apart, with a Content-Length.
    Drip { bytes: Vec<u8>, delay: Duration },
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Bytes(Vec::new()) }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::new(status).header("Content-Type", "application/json").body(serde_json::to_vec(value).unwrap())
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    #[must_use]
    pub fn body(mut self, bytes: Vec<u8>) -> Reply {
        self.body = Body::Bytes(bytes);
        self
    }

    #[must_use]
    pub fn with_body(mut self, body: Body) -> Reply {
        self.body = body;
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// TLS material of a server: a throwaway CA (its PEM is what clients must trust) and a leaf
/// certificate for 127.0.0.1.
pub struct Tls {
    pub ca_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl Tls {
    pub fn for_loopback() -> Tls {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "rhdh-catalog test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            leaf_key.serialize_der(),
        ));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .unwrap();
        Tls { ca_pem: ca.pem(), config: Arc::new(config) }
    }
}

pub struct Server {
    /// `127.0.0.1:<port>`.
    pub host: String,
    requests: Arc<Mutex<Vec<Request>>>,
    body_bytes_sent: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

impl Server {
    /// A plain-HTTP server answering every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_inner(Arc::new(handler), None)
    }

    /// The same over TLS.
    pub fn start_tls(tls: &Tls, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_inner(Arc::new(handler), Some(Arc::clone(&tls.config)))
    }

    fn start_inner(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let body_bytes_sent = Arc::new(AtomicU64::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let (shared_requests, shared_sent, shared_stopped) =
            (Arc::clone(&requests), Arc::clone(&body_bytes_sent), Arc::clone(&stopped));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if shared_stopped.load(Ordering::Relaxed) {
                    return;
                }
                let (handler, requests, sent, stopped, tls) = (
                    Arc::clone(&handler),
                    Arc::clone(&shared_requests),
                    Arc::clone(&shared_sent),
                    Arc::clone(&shared_stopped),
                    tls.clone(),
                );
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                    if let Some(config) = tls {
                        let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                        let mut stream = rustls::StreamOwned::new(connection, stream);
                        serve(&mut stream, &*handler, &requests, &sent, &stopped);
                    } else {
                        let mut stream = stream;
                        serve(&mut stream, &*handler, &requests, &sent, &stopped);
                    }
                });
            }
        });
        Server { host, requests, body_bytes_sent, stopped }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Body bytes written to clients (what they took, give or take socket buffers).
    pub fn body_bytes_sent(&self) -> u64 {
        self.body_bytes_sent.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.host);
    }
}

fn serve<S: Read + Write>(
    stream: &mut S,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    sent: &AtomicU64,
    stopped: &AtomicBool,
) {
    let Some(request) = read_request(stream) else { return };
    requests.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let mut head = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let head_only = request.method == "HEAD";
    match &reply.body {
        Body::Bytes(bytes) | Body::Drip { bytes, .. } => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
        }
        Body::Chunked(_) | Body::Endless { .. } => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    if stream.write_all(head.as_bytes()).is_err() || head_only {
        let _ = stream.flush();
        return;
    }
    let count = |bytes: usize| {
        sent.fetch_add(bytes as u64, Ordering::Relaxed);
    };
    match reply.body {
        Body::Bytes(bytes) => {
            // In pieces, so that what the client refused to read is not counted as sent.
            for piece in bytes.chunks(64 * 1024) {
                if stream.write_all(piece).is_err() {
                    return;
                }
                count(piece.len());
            }
        }
        Body::Chunked(bytes) => {
            for piece in bytes.chunks(64 * 1024) {
                if write_chunk(stream, piece).is_err() {
                    return;
                }
                count(piece.len());
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        Body::Endless { chunk, bytes_per_second, limit } => {
            let started = std::time::Instant::now();
            let mut total = 0u64;
            while total < limit && !stopped.load(Ordering::Relaxed) {
                if write_chunk(stream, &chunk).is_err() {
                    return;
                }
                total += chunk.len() as u64;
                count(chunk.len());
                let due = Duration::from_millis(total.saturating_mul(1000) / bytes_per_second.max(1));
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        Body::Drip { bytes, delay } => {
            for byte in bytes {
                if stream.write_all(&[byte]).and_then(|()| stream.flush()).is_err() {
                    return;
                }
                count(1);
                std::thread::sleep(delay);
            }
        }
    }
    let _ = stream.flush();
}

fn write_chunk<S: Write>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
    stream.write_all(bytes)?;
    stream.write_all(b"\r\n")?;
    stream.flush()
}

fn read_request<S: Read>(stream: &mut S) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or(0);
        }
        headers.push((name, value));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, target, headers, body })
}
