//! A loopback proxy between the tool and a real server that injects faults: per HTTP request
//! (connection reset, a delay past the client's timeout, an HTTP status with an optional
//! `Retry-After`, a truncated body) for the next N requests or for a window, or, in raw mode, a
//! TCP connection cut after N bytes (for git). Requests are forwarded one per upstream connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering.
    Reset,
    /// Wait this long before forwarding (longer than the client's timeout).
    Delay(Duration),
    /// Answer with this status (and `Retry-After` seconds) instead of forwarding.
    Status(u16, Option<u64>),
    /// Forward, but send only half of the response body before closing.
    Truncate,
}

#[derive(Default)]
struct Plan {
    next: Vec<Fault>,
    window: Option<Fault>,
    requests: Vec<String>,
    faults_served: usize,
}

pub struct FaultProxy {
    pub host: String,
    plan: Arc<Mutex<Plan>>,
}

impl FaultProxy {
    /// An HTTP proxy in front of `upstream` (`host:port`).
    pub fn http(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let plan = Arc::new(Mutex::new(Plan::default()));
        let shared = Arc::clone(&plan);
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let plan = Arc::clone(&shared);
                let upstream = upstream.clone();
                std::thread::spawn(move || serve(&client, &upstream, &plan));
            }
        });
        FaultProxy { host, plan }
    }

    /// The next `count` requests get `fault`.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        self.plan.lock().unwrap().next.extend(std::iter::repeat_n(fault, count));
    }

    /// Every request gets `fault` until [`FaultProxy::heal`].
    pub fn fail_all(&self, fault: Fault) {
        self.plan.lock().unwrap().window = Some(fault);
    }

    pub fn heal(&self) {
        let mut plan = self.plan.lock().unwrap();
        plan.window = None;
        plan.next.clear();
    }

    pub fn requests(&self) -> Vec<String> {
        self.plan.lock().unwrap().requests.clone()
    }

    pub fn faults_served(&self) -> usize {
        self.plan.lock().unwrap().faults_served
    }
}

fn serve(client: &TcpStream, upstream: &str, plan: &Mutex<Plan>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    loop {
        let mut head = Vec::new();
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        head.extend_from_slice(request_line.as_bytes());
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") {
                continue;
            }
            head.extend_from_slice(header.as_bytes());
        }
        head.extend_from_slice(b"Connection: close\r\n\r\n");
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let fault = {
            let mut plan = plan.lock().unwrap();
            plan.requests.push(request_line.trim().to_string());
            let fault = if plan.next.is_empty() { plan.window.clone() } else { Some(plan.next.remove(0)) };
            if fault.is_some() {
                plan.faults_served += 1;
            }
            fault
        };
        let mut client = reader.get_ref().try_clone().unwrap();
        match fault {
            Some(Fault::Reset) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Status(status, retry_after)) => {
                let retry = retry_after.map(|seconds| format!("Retry-After: {seconds}\r\n")).unwrap_or_default();
                let body = r#"{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"#;
                let _ = write!(
                    client,
                    "HTTP/1.1 {status} Injected\r\n{retry}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                continue;
            }
            Some(Fault::Delay(delay)) => std::thread::sleep(delay),
            Some(Fault::Truncate) | None => {}
        }
        let Ok(mut server) = TcpStream::connect(upstream) else { return };
        if server.write_all(&head).and_then(|()| server.write_all(&body)).is_err() {
            return;
        }
        let mut response = Vec::new();
        let _ = server.read_to_end(&mut response);
        if fault == Some(Fault::Truncate) {
            let split = response.windows(4).position(|window| window == b"\r\n\r\n").map_or(0, |position| position + 4);
            let cut = split + (response.len() - split) / 2;
            let _ = client.write_all(&response[..cut]);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if client.write_all(&response).is_err() {
            return;
        }
        // The upstream closed after its response (we asked it to), so close too.
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
}

/// A raw TCP proxy that cuts every connection after `limit` bytes from the server (for git).
pub struct CuttingProxy {
    pub host: String,
}

impl CuttingProxy {
    pub fn start(upstream: &str, limit: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                let (mut client_read, mut server_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_read, &mut server_write);
                });
                let (mut server_read, mut client_write) = (server, client);
                std::thread::spawn(move || {
                    let mut sent = 0;
                    let mut buffer = [0u8; 1024];
                    while sent < limit {
                        let Ok(read) = server_read.read(&mut buffer) else { break };
                        if read == 0 {
                            break;
                        }
                        let take = read.min(limit - sent);
                        if client_write.write_all(&buffer[..take]).is_err() {
                            break;
                        }
                        sent += take;
                    }
                    let _ = client_write.shutdown(Shutdown::Both);
                    let _ = server_read.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingProxy { host }
    }
}
