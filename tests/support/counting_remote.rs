//! A `git daemon` on loopback serving every repository under a folder and counting what it sends:
//! git runs `uploadpack.packObjectsHook` (read from the daemon's own global config, the only place
//! git honours it) in place of `pack-objects` for every clone or fetch that downloads objects, and
//! the hook logs the repository before handing over. `git ls-remote` sends no pack, so it is not
//! counted: the log says how many times each repository was actually cloned or fetched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct CountingRemote {
    child: Child,
    pid_file: PathBuf,
    log: PathBuf,
    base: PathBuf,
    pub host: String,
    _home: tempfile::TempDir,
}

impl CountingRemote {
    /// Serves every repository under `base` (`git://<host>/<path under base>`).
    pub fn start(base: &Path) -> CountingRemote {
        let base = std::fs::canonicalize(base).unwrap();
        let base = base.as_path();
        let home = tempfile::tempdir().unwrap();
        let log = home.path().join("packs.log");
        let hook = home.path().join("count-packs.sh");
        std::fs::write(&hook, format!("#!/bin/sh\necho \"$PWD\" >> '{}'\nexec \"$@\"\n", log.display())).unwrap();
        std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let config = home.path().join("gitconfig");
        std::fs::write(&config, format!("[uploadpack]\n\tpackObjectsHook = {}\n", hook.display())).unwrap();
        std::fs::write(&log, "").unwrap();
        let port = super::free_port();
        let pid_file = home.path().join("git-daemon.pid");
        let child = Command::new("git")
            .args(["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", &format!("--port={port}")])
            .arg(format!("--pid-file={}", pid_file.display()))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .env("GIT_CONFIG_GLOBAL", &config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        crate::support::wait_until_listening(&host, "git daemon");
        CountingRemote { child, pid_file, log, base: base.to_path_buf(), host, _home: home }
    }

    /// The `git://` URL of the repository at `repository` (a folder under the served base).
    pub fn url(&self, repository: &Path) -> String {
        let repository = std::fs::canonicalize(repository).unwrap();
        let relative = repository.strip_prefix(&self.base).expect("a repository under the served folder");
        format!("git://{}/{}", self.host, relative.display())
    }

    /// One line per pack sent: the repository, as a path under the served base.
    pub fn packs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|line| {
                let path = Path::new(line.trim_end_matches("/.git"));
                path.strip_prefix(&self.base).unwrap_or(path).display().to_string()
            })
            .collect()
    }
}

impl Drop for CountingRemote {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
