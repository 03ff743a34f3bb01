//! A misbehaving registry: a loopback front (plain HTTP or TLS) for a real `docker-registry` that
//! forwards every request except the ones its [`Misbehaviour`] answers itself: a manifest that
//! redirects to another host, does not match its digest, is no manifest at all, disagrees with its
//! Content-Type, is huge, endless or slow; blobs that are endless or redirect (to another host, or
//! from https to plain HTTP); a bearer challenge naming a foreign plain-HTTP realm; basic auth in
//! front of blob redirects. It records requests, so tests can tell what was followed and which
//! credentials went where.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;

use super::loopback_http::{Body, Reply, Request, Server, Tls};

#[derive(Clone, Debug)]
pub enum Misbehaviour {
    /// Manifest GETs answer 302 to the same path on `host` (plain HTTP).
    ManifestRedirect { host: String },
    /// Manifest bodies change by one byte; the Docker-Content-Digest header stays.
    WrongDigest,
    /// Manifest GETs answer this JSON (with a Docker-Content-Digest that matches it) and Content-Type.
    NotAManifest { body: String, content_type: String },
    /// Manifests as stored, but with this Content-Type.
    ContentType(String),
    /// Manifest GETs answer a valid-JSON manifest of this many bytes, chunked (no Content-Length).
    HugeManifest(usize),
    /// Manifest GETs answer a chunked body that never ends (about 20 MB/s).
    EndlessManifest,
    /// Manifests drip one byte every 200 ms.
    SlowManifest,
    /// Blob GETs answer a chunked body that never ends (about 20 MB/s).
    EndlessBlob,
    /// Blob GETs answer 307 to the same path on `location` (`http://host` or `https://host`).
    BlobRedirect { location: String },
    /// Tag lists never end.
    EndlessTagList,
    /// Tag list pages link back to the first page.
    LoopingTagList,
    /// Tag list pages that never end and never repeat: each page 50 000 new tags (about 1 MB)
    /// and a `Link` to the next one on the same host.
    EndlessFreshTagPages,
    /// Requests without an Authorization header get `Bearer realm="<realm>"`; with one, 401 again.
    ForeignRealm { realm: String },
    /// Requests need `Basic user:password`, then are forwarded, and blob GETs redirect to `location`.
    BasicThenBlobRedirect { user: String, password: String, location: String },
}

pub struct HostileRegistry {
    pub server: Server,
    pub host: String,
}

impl HostileRegistry {
    /// Plain HTTP in front of `upstream` (`host:port` of a real registry; may be empty when
    /// nothing is forwarded).
    pub fn start(upstream: &str, misbehaviour: Misbehaviour) -> HostileRegistry {
        let upstream = upstream.to_string();
        let server = Server::start(move |request| handle(request, &upstream, &misbehaviour));
        let host = server.host.clone();
        HostileRegistry { server, host }
    }

    /// The same over TLS (clients must trust `tls.ca_pem`).
    pub fn start_tls(tls: &Tls, upstream: &str, misbehaviour: Misbehaviour) -> HostileRegistry {
        let upstream = upstream.to_string();
        let server = Server::start_tls(tls, move |request| handle(request, &upstream, &misbehaviour));
        let host = server.host.clone();
        HostileRegistry { server, host }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

/// A server that forwards everything to `upstream` and records what it was asked (the far end of
/// a redirect).
pub fn forwarder(upstream: &str) -> Server {
    let upstream = upstream.to_string();
    Server::start(move |request| forward(&upstream, request))
}

fn is_manifest(request: &Request) -> bool {
    request.method == "GET" && request.path().starts_with("/v2/") && request.path().contains("/manifests/")
}

fn is_blob_get(request: &Request) -> bool {
    request.method == "GET"
        && request.path().starts_with("/v2/")
        && request.path().contains("/blobs/sha256:")
        && !request.path().contains("/uploads/")
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref()))
}

pub fn endless() -> Body {
    Body::Endless { chunk: vec![b' '; 64 * 1024], bytes_per_second: 20 * 1024 * 1024, limit: 8 * 1024 * 1024 * 1024 }
}

/// Huge manifests already built, by size.
type HugeCache = std::sync::Mutex<Vec<(usize, Arc<Vec<u8>>)>>;

/// A manifest of `size` bytes: valid JSON, valid manifest, one giant annotation.
fn huge_manifest(size: usize) -> Arc<Vec<u8>> {
    static CACHE: OnceLock<HugeCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    if let Some((_, bytes)) = cache.iter().find(|(cached, _)| *cached == size) {
        return Arc::clone(bytes);
    }
    let head = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"filler":""#;
    let tail = br#""}}"#;
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(head);
    bytes.resize(size.saturating_sub(tail.len()).max(head.len()), b'x');
    bytes.extend_from_slice(tail);
    let bytes = Arc::new(bytes);
    cache.push((size, Arc::clone(&bytes)));
    bytes
}

fn handle(request: &Request, upstream: &str, misbehaviour: &Misbehaviour) -> Reply {
    match misbehaviour {
        Misbehaviour::ManifestRedirect { host } if is_manifest(request) => {
            Reply::new(302).header("Location", &format!("http://{host}{}", request.target))
        }
        Misbehaviour::WrongDigest if is_manifest(request) => {
            let mut reply = forward(upstream, request);
            if let Body::Bytes(bytes) = &mut reply.body {
                bytes.push(b' ');
            }
            reply
        }
        Misbehaviour::NotAManifest { body, content_type } if is_manifest(request) => Reply::new(200)
            .header("Content-Type", content_type)
            .header("Docker-Content-Digest", &digest_of(body.as_bytes()))
            .body(body.as_bytes().to_vec()),
        Misbehaviour::ContentType(content_type) if is_manifest(request) => {
            let mut reply = forward(upstream, request);
            reply.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
            reply.header("Content-Type", content_type)
        }
        Misbehaviour::HugeManifest(size) if is_manifest(request) => {
            let bytes = huge_manifest(*size);
            Reply::new(200)
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .header("Docker-Content-Digest", &digest_of(&bytes))
                .with_body(Body::Chunked(bytes.to_vec()))
        }
        Misbehaviour::EndlessManifest if is_manifest(request) => {
            Reply::new(200).header("Content-Type", "application/vnd.oci.image.manifest.v1+json").with_body(endless())
        }
        Misbehaviour::SlowManifest if is_manifest(request) => {
            let reply = forward(upstream, request);
            match reply.body {
                Body::Bytes(bytes) if reply.status == 200 => Reply { headers: reply.headers, ..Reply::new(200) }
                    .with_body(Body::Drip { bytes, delay: Duration::from_millis(200) }),
                _ => reply,
            }
        }
        Misbehaviour::EndlessBlob if is_blob_get(request) => {
            Reply::new(200).header("Content-Type", "application/octet-stream").with_body(endless())
        }
        Misbehaviour::BlobRedirect { location } if is_blob_get(request) => {
            Reply::new(307).header("Location", &format!("{location}{}", request.target))
        }
        Misbehaviour::EndlessTagList if request.path().ends_with("/tags/list") => {
            Reply::new(200).header("Content-Type", "application/json").with_body(endless())
        }
        Misbehaviour::EndlessFreshTagPages if request.path().ends_with("/tags/list") => {
            let after: u64 =
                request.query("last").first().and_then(|last| last.trim_start_matches('t').parse().ok()).unwrap_or(0);
            let tags: Vec<String> = (after + 1..=after + 50_000).map(|number| format!("t{number}")).collect();
            let last = after + 50_000;
            Reply::json(200, &serde_json::json!({"name": "x", "tags": tags}))
                .header("Link", &format!("<{}?n=50000&last=t{last}>; rel=\"next\"", request.path()))
        }
        Misbehaviour::LoopingTagList if request.path().ends_with("/tags/list") => {
            Reply::json(200, &serde_json::json!({"name": "x", "tags": ["1.10.0-1"]}))
                .header("Link", &format!("<{}?n=1&last=1.10.0-1>; rel=\"next\"", request.path()))
        }
        Misbehaviour::ForeignRealm { realm } => Reply::json(
            401,
            &serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
        )
        .header("WWW-Authenticate", &format!("Bearer realm=\"{realm}\",service=\"hostile\"")),
        Misbehaviour::BasicThenBlobRedirect { user, password, location } => {
            let expected =
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
            if request.header("authorization") != Some(expected.as_str()) {
                return Reply::new(401).header("WWW-Authenticate", "Basic realm=\"hostile\"");
            }
            if is_blob_get(request) {
                return Reply::new(307).header("Location", &format!("{location}{}", request.target));
            }
            forward(upstream, request)
        }
        _ => forward(upstream, request),
    }
}

/// Sends `request` to `upstream` and returns its answer (headers that describe the framing dropped).
pub fn forward(upstream: &str, request: &Request) -> Reply {
    let Ok(mut stream) = TcpStream::connect(upstream) else { return Reply::new(502) };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!("{} {} HTTP/1.1\r\nConnection: close\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        if ["connection", "content-length", "transfer-encoding", "host"]
            .iter()
            .any(|skip| name.eq_ignore_ascii_case(skip))
        {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Host: {upstream}\r\nContent-Length: {}\r\n\r\n", request.body.len()));
    if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&request.body)).is_err() {
        return Reply::new(502);
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let Some(split) = response.windows(4).position(|window| window == b"\r\n\r\n") else { return Reply::new(502) };
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut body = response[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|line| line.split_whitespace().nth(1)).and_then(|code| code.parse().ok());
    let mut reply = Reply::new(status.unwrap_or(502));
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
            continue;
        }
        if ["content-length", "connection"].iter().any(|skip| name.eq_ignore_ascii_case(skip)) {
            continue;
        }
        reply = reply.header(name, value);
    }
    if chunked {
        body = dechunk(&body);
    }
    reply.body(body)
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = bytes.windows(2).position(|window| window == b"\r\n") else { return out };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&bytes[..end]).split(';').next().unwrap_or("0").trim(), 16)
                .unwrap_or(0);
        if size == 0 || bytes.len() < end + 2 + size {
            return out;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[(end + 4 + size).min(bytes.len())..];
    }
}
