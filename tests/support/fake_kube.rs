//! A loopback HTTP server speaking the Kubernetes API's JSON for the calls the tool makes (list,
//! get, watch): no real API server can run on the build machines, so the real kube client talks to
//! this. Routes map a path (plus `?watch` for watch requests) to a sequence of responses, served in
//! order (the last one repeats); a watch body is newline-delimited events ended by closing the
//! connection, as the API server does when a watch times out. Every request is recorded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct FakeApiServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FakeApiServer {
    pub fn start(routes: HashMap<String, (u16, String)>) -> FakeApiServer {
        Self::start_sequences(routes.into_iter().map(|(path, response)| (path, vec![response])).collect())
    }

    pub fn start_sequences(routes: HashMap<String, Vec<(u16, String)>>) -> FakeApiServer {
        let served: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(HashMap::new()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let served = Arc::clone(&served);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let target = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                seen.lock().unwrap().push(target.clone());
                let path = target.split('?').next().unwrap_or("/");
                let watch = target.contains("watch=true");
                let key = if watch { format!("{path}?watch") } else { path.to_string() };
                let response = routes.get(&key).map(|sequence| {
                    let mut counts = served.lock().unwrap();
                    let count = counts.entry(key.clone()).or_insert(0);
                    let response = sequence[(*count).min(sequence.len() - 1)].clone();
                    *count += 1;
                    response
                });
                let (status, body) = response.unwrap_or_else(|| {
                    (404, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not found","reason":"NotFound","code":404}"#.to_string())
                });
                let response = if watch {
                    format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}")
                } else {
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        FakeApiServer { url, requests }
    }

    /// A kubeconfig pointing at this server with a token user, written into `dir`.
    pub fn kubeconfig(&self, dir: &Path, namespace: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: bot\n    namespace: {namespace}\ncurrent-context: fake\nusers:\n- name: bot\n  user:\n    token: test-token-not-secret\n",
                self.url
            ),
        )
        .unwrap();
        path
    }
}

/// A Kubernetes `Status` body for a refused request.
pub fn forbidden(message: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"{message}","reason":"Forbidden","code":403}}"#
    )
}
