//! A loopback token issuer for the distribution token flow, and a real `docker-registry` that
//! trusts it (`auth: token`).
//!
//! The issuer answers `GET /token?service=…&scope=…` as distribution's token spec says: it checks
//! basic credentials when sent (a wrong password is a 401), grants the intersection of the asked
//! actions and the user's (or anonymous) permissions, and returns a JWT signed ES256 by a key
//! whose self-signed certificate is the registry's `rootcertbundle`. The header carries `kid`
//! (libtrust fingerprint) and `x5c`; the claims are the ones distribution 2.8 verifies: `iss`,
//! `sub`, `aud` = service, `exp`, `nbf`, `iat`, `jti`, `access`. Every request is recorded (who,
//! which scope, what was granted) so tests can assert token reuse and credential scoping.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::json;

use super::free_port;
use super::loopback_http::{Reply, Request, Server};

pub const SERVICE: &str = "rhdh-test-registry";
pub const ISSUER: &str = "rhdh-test-issuer";

/// Repository-name prefixes with the actions granted on them.
pub type Grants = Vec<(String, Vec<String>)>;

/// What a user (or anyone, for `anonymous`) may do.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// (user, password, grants).
    pub users: Vec<(String, String, Grants)>,
    pub anonymous: Grants,
}

impl Policy {
    #[must_use]
    pub fn user(mut self, name: &str, password: &str, grants: &[(&str, &str)]) -> Policy {
        self.users.push((name.into(), password.into(), grants_of(grants)));
        self
    }

    #[must_use]
    pub fn anonymous(mut self, grants: &[(&str, &str)]) -> Policy {
        self.anonymous = grants_of(grants);
        self
    }
}

fn grants_of(grants: &[(&str, &str)]) -> Grants {
    grants
        .iter()
        .map(|(prefix, actions)| ((*prefix).to_string(), actions.split(',').map(str::to_string).collect()))
        .collect()
}

/// One token request as the issuer saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// `None` for anonymous requests.
    pub user: Option<String>,
    pub service: String,
    pub scope: String,
    pub granted: Vec<String>,
    /// 401 (wrong password) or 200.
    pub status: u16,
}

struct Key {
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    kid: String,
    certificate_der: Vec<u8>,
}

pub struct TokenIssuer {
    pub server: Server,
    /// PEM of the signing certificate (the registry's `rootcertbundle`).
    pub certificate_pem: String,
    log: Arc<Mutex<Vec<Issued>>>,
    expires_in: Arc<AtomicU64>,
}

impl TokenIssuer {
    pub fn start(policy: Policy) -> TokenIssuer {
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, ISSUER);
        let certificate = params.self_signed(&key_pair).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &rng,
        )
        .unwrap();
        let key = Arc::new(Key {
            pair,
            rng,
            kid: libtrust_key_id(&rcgen::PublicKeyData::subject_public_key_info(&key_pair)),
            certificate_der: certificate.der().to_vec(),
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let expires_in = Arc::new(AtomicU64::new(300));
        let (shared_log, shared_expiry) = (Arc::clone(&log), Arc::clone(&expires_in));
        let server = Server::start(move |request| {
            answer(request, &policy, &key, &shared_log, shared_expiry.load(Ordering::Relaxed))
        });
        TokenIssuer { server, certificate_pem: certificate.pem(), log, expires_in }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.host)
    }

    /// Tokens issued from now on say (and are) valid this long.
    pub fn set_expires_in(&self, seconds: u64) {
        self.expires_in.store(seconds, Ordering::Relaxed);
    }

    pub fn issued(&self) -> Vec<Issued> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }

    /// How many token requests named `scope`.
    pub fn requests_for(&self, scope: &str) -> usize {
        self.issued().iter().filter(|issued| issued.scope == scope).count()
    }
}

fn answer(request: &Request, policy: &Policy, key: &Key, log: &Mutex<Vec<Issued>>, expires_in: u64) -> Reply {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    if request.path() != "/token" {
        return Reply::new(404);
    }
    let service = request.query("service").into_iter().next().unwrap_or_default();
    let scopes = request.query("scope");
    let user = match request.basic_credentials() {
        None => None,
        Some((name, password)) => {
            let known = policy.users.iter().find(|(user, _, _)| *user == name);
            match known {
                Some((_, expected, _)) if *expected == password => Some(name),
                _ => {
                    let mut log = log.lock().unwrap();
                    for scope in &scopes {
                        log.push(Issued {
                            user: Some(name.clone()),
                            service: service.clone(),
                            scope: scope.clone(),
                            granted: Vec::new(),
                            status: 401,
                        });
                    }
                    return Reply::json(
                        401,
                        &json!({"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}),
                    )
                    .header("WWW-Authenticate", "Basic realm=\"rhdh-test-issuer\"");
                }
            }
        }
    };
    let grants = match &user {
        Some(name) => policy.users.iter().find(|(user, _, _)| user == name).map(|(_, _, grants)| grants.clone()),
        None => Some(policy.anonymous.clone()),
    }
    .unwrap_or_default();
    let mut access = Vec::new();
    for scope in &scopes {
        let mut parts = scope.splitn(2, ':');
        let kind = parts.next().unwrap_or_default();
        let rest = parts.next().unwrap_or_default();
        let (name, actions) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let allowed: Vec<String> = grants
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .flat_map(|(_, actions)| actions.clone())
            .collect();
        let granted: Vec<String> =
            actions.split(',').filter(|action| allowed.iter().any(|a| a == action)).map(str::to_string).collect();
        log.lock().unwrap().push(Issued {
            user: user.clone(),
            service: service.clone(),
            scope: scope.clone(),
            granted: granted.clone(),
            status: 200,
        });
        access.push(json!({"type": kind, "name": name, "actions": granted}));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "iss": ISSUER,
        "sub": user.clone().unwrap_or_default(),
        "aud": service,
        "exp": now + expires_in,
        "nbf": now.saturating_sub(1),
        "iat": now,
        "jti": format!("jti-{now}-{}", SERIAL.fetch_add(1, Ordering::Relaxed)),
        "access": access,
    });
    let header = json!({
        "typ": "JWT",
        "alg": "ES256",
        "kid": key.kid,
        "x5c": [base64::engine::general_purpose::STANDARD.encode(&key.certificate_der)],
    });
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        url.encode(serde_json::to_vec(&header).unwrap()),
        url.encode(serde_json::to_vec(&claims).unwrap())
    );
    let signature = key.pair.sign(&key.rng, signing_input.as_bytes()).unwrap();
    let token = format!("{signing_input}.{}", url.encode(signature.as_ref()));
    Reply::json(200, &json!({"token": token, "access_token": token, "expires_in": expires_in}))
}

/// libtrust's key ID: the first 240 bits of the SHA-256 of the DER public key, base32 in 12
/// groups of four separated by `:`.
fn libtrust_key_id(spki_der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, spki_der);
    let encoded = base32(&digest.as_ref()[..30]);
    encoded.as_bytes().chunks(4).map(|group| String::from_utf8_lossy(group).into_owned()).collect::<Vec<_>>().join(":")
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A real `docker-registry` (distribution 2.8) with `auth: token` trusting `issuer`; plain HTTP on
/// loopback, removed on drop.
pub struct TokenRegistry {
    child: Child,
    pub host: String,
    _root: tempfile::TempDir,
}

impl TokenRegistry {
    pub fn start(issuer: &TokenIssuer) -> TokenRegistry {
        let root = tempfile::tempdir().unwrap();
        let bundle = root.path().join("issuer.pem");
        std::fs::write(&bundle, &issuer.certificate_pem).unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = String::new();
        let _ = write!(
            config,
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\nauth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            root.path().join("data").display(),
            issuer.realm(),
            bundle.display(),
        );
        let config_path = root.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (hack/test.sh installs it)");
        crate::support::wait_until_listening(&host, "registry");
        TokenRegistry { child, host, _root: root }
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(super::base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(super::base32(b"f"), "MY");
    }
}
