//! The status page as a person sees it: rendered by headless Chromium (Debian's `chromium`,
//! which `hack/test.sh` installs) for the bundled example after `sync` and for the real overlay
//! data indexed against a loopback registry with a missing tag, a plugin left out and a failed
//! export injected. `--dump-dom` shows every plugin row, the action list and the diff; the page
//! must fit 360 px without sideways scrolling, read with scripts off, and make no request at
//! all (a loopback proxy counts every connection Chromium opens). Screenshots at 1280 and 360 px
//! go to `target/tmp/status-page/`, and to `docs/status-page/` with
//! `RHDH_CATALOG_UPDATE_SCREENSHOTS=1`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhdh_catalog::io::registry::image::{ImageSpec, LayerFile, build_image, push_image};
use rhdh_catalog::io::registry::{ClientOptions, Digest, ImageReference, Store};
use serde_json::Value;

use crate::support::upstreams::{commit, git};
use crate::support::{Registry, copy_dir, files_under, reference_data, rhdh_catalog};

// --- Chromium -------------------------------------------------------------------------------

/// Debian's browser binary itself: its `/usr/bin/chromium` wrapper adds API keys and remote
/// extensions, which only add the browser's own traffic.
fn chromium_binary() -> PathBuf {
    let real = Path::new("/usr/lib/chromium/chromium");
    if real.is_file() {
        return real.to_path_buf();
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["chromium", "chromium-browser"] {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!("headless Chromium is needed: `apt-get install -y chromium` (hack/test.sh installs it)");
}

/// One headless Chromium run on `page` with a fresh profile; returns stdout.
fn chromium(page: &Path, args: &[String], proxy: Option<u16>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = assert_cmd::Command::new(chromium_binary());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-features=NetworkTimeServiceQuerying",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .timeout(Duration::from_secs(120));
    if let Some(port) = proxy {
        command.arg(format!("--proxy-server=http://127.0.0.1:{port}")).arg("--proxy-bypass-list=<-loopback>");
    }
    let output = command.arg(format!("file://{}", page.display())).output().expect("chromium ran");
    assert!(
        output.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The DOM after the page's own script ran, at `width` px.
fn dump_dom(page: &Path, width: u32) -> String {
    let dom = chromium(page, &[format!("--window-size={width},2000"), "--dump-dom".into()], None);
    assert!(dom.contains("</html>"), "no DOM for {}: {dom}", page.display());
    dom
}

/// A screenshot at `width` px; checked to be a PNG of that width.
fn screenshot(page: &Path, width: u32, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    let _ = std::fs::remove_file(&file);
    chromium(
        page,
        &[
            format!("--window-size={width},2000"),
            "--hide-scrollbars".into(),
            format!("--screenshot={}", file.display()),
        ],
        None,
    );
    let png = std::fs::read(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), width, "{name}");
    assert!(png.len() > 20_000, "{name} is nearly empty ({} bytes)", png.len());
    if std::env::var_os("RHDH_CATALOG_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&file, docs.join(name)).unwrap();
    }
    file
}

/// Keeps a copy of `page` under `target/tmp/status-page/` to open in a browser.
fn keep(page: &Path, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(page, dir.join(name)).unwrap();
}

/// A copy of `page` beside it with `edit` applied.
fn variant(page: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(page).unwrap();
    let copy = page.with_file_name(name);
    std::fs::write(&copy, edit(&text)).unwrap();
    copy
}

/// The page without its Content-Security-Policy (so a test may add a script or an image).
fn without_policy(text: &str) -> String {
    let start = text.find("<meta http-equiv=\"Content-Security-Policy\"").expect("the page has a CSP");
    let end = start + text[start..].find('>').unwrap() + 1;
    format!("{}{}", &text[..start], &text[end..])
}

/// The page fits `width` px: laid out in an iframe that wide (headless Chromium's own window is
/// at least 500 px), nothing is wider than the frame.
fn assert_fits(page: &Path, width: u32) {
    let text = std::fs::read_to_string(page).unwrap();
    let source = text.replace('&', "&amp;").replace('"', "&quot;");
    let probe = page.with_file_name("fits.html");
    std::fs::write(
        &probe,
        format!(
            "<!DOCTYPE html><html><body style=\"margin:0\"><iframe id=\"frame\" style=\"border:0;width:{width}px;height:2000px\" \
onload=\"document.body.setAttribute('data-scroll-width',String(this.contentDocument.documentElement.scrollWidth))\" \
srcdoc=\"{source}\"></iframe></body></html>"
        ),
    )
    .unwrap();
    let dom = dump_dom(&probe, 1280);
    let scroll_width: u32 = attribute(&dom, "data-scroll-width").parse().unwrap();
    assert!(scroll_width <= width, "the page is {scroll_width} px wide in a {width} px frame");
}

fn attribute(dom: &str, name: &str) -> String {
    let start = dom.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in the DOM")) + name.len() + 2;
    dom[start..start + dom[start..].find('"').unwrap()].to_string()
}

/// Sorting and filtering work where scripts run: a probe added to a copy of the page filters
/// by text and by state and sorts by a column, and records what the page then shows.
fn probe_script(page: &Path, actions: &str) -> String {
    let probe = variant(page, "probe.html", |text| {
        without_policy(text).replace(
            "</body>",
            &format!(
                "<script>(function(){{var t=document.getElementById('filter-text'),s=document.getElementById('filter-state'),\
c=document.getElementById('filter-count');function shown(){{return Array.prototype.filter.call(\
document.querySelectorAll('#plugin-table tbody tr'),function(r){{return !r.hidden;}}).map(function(r){{return r.id;}});}}\
function th(n){{return Array.prototype.filter.call(document.querySelectorAll('#plugin-table thead th'),\
function(h){{return h.textContent.indexOf(n)===0;}})[0].querySelector('button');}}\
var out=[];{actions}document.body.setAttribute('data-probe',out.join(' | '));}})();</script></body>"
            ),
        )
    });
    attribute(&dump_dom(&probe, 1280), "data-probe")
}

/// With scripts off (the page's script removed, as a browser with scripts off never runs it):
/// the filter controls stay hidden and every row is there.
fn assert_reads_without_scripts(page: &Path, rows: usize) {
    let plain = variant(page, "no-script.html", |text| {
        let start = text.rfind("<script>").unwrap();
        let end = text.rfind("</script>").unwrap() + "</script>".len();
        format!("{}{}", &text[..start], &text[end..])
    });
    let dom = dump_dom(&plain, 1280);
    assert!(dom.contains("id=\"controls\" hidden"), "the filter controls need the script");
    assert_eq!(dom.matches("<tr id=\"plugin-").count(), rows);
    assert!(!dom.contains("data-state=\"pinned\" hidden"), "no row is hidden");
}

/// References in a DOM that would load something from elsewhere.
fn external_references(dom: &str) -> Vec<String> {
    let pattern = regex::Regex::new(
        r#"(?i)\s(?:src|href|srcset|poster|action|formaction|data|background|ping)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//[^"'\s>]*|url\(|@import"#,
    )
    .unwrap();
    pattern.find_iter(dom).map(|found| found.as_str().trim().to_string()).collect()
}

/// A loopback HTTP proxy that records the first line of every request and refuses it.
struct CountingProxy {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CountingProxy {
    fn start() -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buffer = [0_u8; 4096];
                        let read = stream.read(&mut buffer).unwrap_or(0);
                        let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                        let line = text.lines().next().unwrap_or("(nothing sent)").to_string();
                        seen.lock().unwrap().push(line);
                        let _ = stream
                            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        CountingProxy { port, requests, stop, thread: Some(thread) }
    }

    /// `METHOD target` of each request so far, without query strings or protocol version.
    fn take(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(200));
        let lines: Vec<String> = std::mem::take(&mut *self.requests.lock().unwrap());
        lines
            .into_iter()
            .map(|line| {
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("").split('?').next().unwrap_or("").to_string();
                format!("{method} {target}")
            })
            .collect()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The requests Chromium made for `page` beyond those it makes for an empty page with the same
/// flags (Chromium 156 opens a few connections of its own at start-up, to update.googleapis.com
/// and accounts.google.com, that no switch turns off; a page's request is any other).
fn page_requests(page: &Path) -> Vec<String> {
    let proxy = CountingProxy::start();
    let blank = page.with_file_name("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html lang=\"en\"><title>blank</title></html>\n").unwrap();
    chromium(&blank, &["--dump-dom".into()], Some(proxy.port));
    // The browser's own start-up connections go to its vendor's service hosts, a varying number
    // of times per start: those hosts are not the page's (the page's references are checked in
    // the DOM as well), any other host is.
    let mut browser_own: Vec<String> = proxy.take().iter().map(|request| host_of(request)).collect();
    browser_own.extend(["accounts.google.com", "update.googleapis.com"].map(str::to_string));
    chromium(page, &["--dump-dom".into()], Some(proxy.port));
    proxy.take().into_iter().filter(|request| !browser_own.contains(&host_of(request))).collect()
}

/// `CONNECT host:443` or `GET http://host/path` → `host`.
fn host_of(request: &str) -> String {
    let target = request.split_whitespace().nth(1).unwrap_or_default();
    let without_scheme = target.split_once("://").map_or(target, |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap_or_default();
    authority.rsplit_once(':').map_or(authority, |(host, _)| host).to_string()
}

fn assert_no_external_request(page: &Path) {
    let dom = dump_dom(page, 1280);
    assert_eq!(external_references(&dom), Vec::<String>::new(), "the page references something elsewhere");
    assert_eq!(page_requests(page), Vec::<String>::new(), "the page made requests");
}

/// The `<tr>` of `image` in a DOM.
fn row_of<'a>(dom: &'a str, image: &str) -> &'a str {
    let start = dom.find(&format!("<tr id=\"plugin-{image}\"")).unwrap_or_else(|| panic!("no row for {image}"));
    &dom[start..start + dom[start..].find("</tr>").unwrap()]
}

/// Every plugin row, the action list and the change groups, as Chromium built the DOM.
fn assert_page(dom: &str, images: &[String], actions: &[&str], groups: &[(&str, &[&str])]) {
    assert_eq!(dom.matches("<tr id=\"plugin-").count(), images.len(), "one row per plugin");
    for image in images {
        assert!(dom.contains(&format!("<tr id=\"plugin-{image}\"")), "no row for {image}");
    }
    let section = |id: &str| {
        let start = dom.find(&format!("<section id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
        &dom[start..start + dom[start..].find("</section>").unwrap()]
    };
    let action_list = section("actions");
    assert_eq!(action_list.matches("<article class=\"action").count(), actions.len(), "{action_list}");
    for name in actions {
        assert!(action_list.contains(name), "{name} is not in ACTION REQUIRED");
    }
    let changes = section("changes");
    for (group, names) in groups {
        let start = changes.find(&format!("id=\"diff-{group}\"")).unwrap_or_else(|| panic!("no group {group}"));
        let list = &changes[start..start + changes[start..].find("</ul>").unwrap()];
        assert_eq!(list.matches("<li>").count(), names.len(), "{group}: {list}");
        for name in *names {
            assert!(list.contains(name), "{name} is not under {group}");
        }
    }
    assert!(dom.find("id=\"actions\"").unwrap() < dom.find("id=\"plugins\"").unwrap(), "actions first");
    assert!(dom.contains("id=\"controls\">"), "the script showed the filter");
    assert!(
        dom.contains(&format!("{} of {} plugins shown", images.len(), images.len())),
        "the filter counted the rows"
    );
}

// --- the bundled example ----------------------------------------------------------------------

fn sync(root: &Path, midstream: &Path) -> (std::process::Output, String) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let output = rhdh_catalog(root)
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .arg("sync")
        .arg("--tree")
        .arg(midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .arg("--store")
        .arg(format!("oci-layout:{}", root.join("out/registry").display()))
        .arg("--exporter")
        .arg(examples.join("recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

#[test]
fn status_page_of_the_example_sync_in_chromium() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let (output, stdout) = sync(root, &midstream);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let page = root.join("out/sync/status.html");
    assert!(stdout.contains(&format!("status:    {}", page.display())), "sync says where the page is: {stdout}");
    let index: Value =
        serde_json::from_slice(&std::fs::read(midstream.join("catalog-index/index.json")).unwrap()).unwrap();
    let images: Vec<String> = index.as_object().unwrap().keys().cloned().collect();
    assert_eq!(images.len(), 7);

    let dom = dump_dom(&page, 1280);
    let added: Vec<&str> = images.iter().map(String::as_str).collect();
    // Every plugin the overlay lists has a row: the seven in the index, and the three analytics
    // modules the supported list leaves out, each saying so.
    let outside = [
        "backstage-community-plugin-analytics-module-ga4",
        "backstage-community-plugin-analytics-module-matomo",
        "backstage-community-plugin-analytics-module-newrelic-browser",
    ];
    let mut rows: Vec<String> =
        images.iter().cloned().chain(outside.iter().map(|image| (*image).to_string())).collect();
    rows.sort();
    assert_page(&dom, &rows, &[], &[("added", &added)]);
    assert!(dom.contains("10 of 10 plugins shown"));
    for image in outside {
        let row = row_of(&dom, image);
        assert!(
            row.contains("not supported")
                && row.contains("the supported package list does not name analytics/plugins/"),
            "{row}"
        );
    }
    let markdown = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    for image in &rows {
        assert!(markdown.contains(image.as_str()), "status.md names {image}");
    }
    let head = git(&midstream, &["rev-parse", "HEAD"]);
    let before_sync = git(&midstream, &["rev-parse", "HEAD~1"]);
    assert!(dom.contains(&before_sync) || dom.contains(&head), "the midstream commit is in the header");
    // The report Task as the runner ran it: the markdown in its log, the page as its artifact,
    // the one-line summary as its result.
    let task = root.join("out/sync/runs/report");
    let log = std::fs::read_to_string(task.join("report.log")).unwrap();
    assert!(log.contains("## rhdh-catalog sync: Succeeded") && log.contains("| fetch | Succeeded ✅ |"), "{log}");
    assert!(task.join("workdir/report/status.html").is_file());
    let artifact = std::fs::read_to_string(task.join("results/REPORT_ARTIFACT")).unwrap();
    assert!(
        artifact.starts_with("oci:localhost/rhdh-catalog-sync@sha256:"),
        "a tag of the run's one repository: {artifact}"
    );
    // The report task reads the index's artifact (its reports, plan.json, both catalogs), as it does
    // on a cluster: its summary has the counts, not the status alone.
    assert_eq!(
        std::fs::read_to_string(task.join("results/summary")).unwrap(),
        "Succeeded; 7 plugins: 7 pinned, 0 fallback, 0 kept, 0 missing, 0 failed exports; community: 3 plugins: 3 pinned, 0 fallback, 0 kept, 0 missing"
    );
    let task_page = std::fs::read_to_string(task.join("workdir/report/status.md")).unwrap();
    assert!(task_page.contains("tech-radar") && task_page.contains("Community catalog"), "{task_page}");
    assert!(root.join("out/sync/runs/report-without-index").read_dir().is_err(), "the other report task never ran");
    assert_fits(&page, 360);
    assert_reads_without_scripts(&page, rows.len());
    assert_no_external_request(&page);
    keep(&page, "example.html");
    screenshot(&page, 1280, "example-1280.png");
    screenshot(&page, 360, "example-360.png");
    // A plugin maintainer finds a plugin by its npm name or by its folder with the filter at the top.
    let probed = probe_script(
        &page,
        "t.value='@backstage-community/plugin-analytics-module-matomo';t.dispatchEvent(new Event('input'));out.push(shown().join(','));\
t.value='analytics/plugins/analytics-module-ga4';t.dispatchEvent(new Event('input'));out.push(shown().join(','));",
    );
    assert_eq!(
        probed,
        "plugin-backstage-community-plugin-analytics-module-matomo | plugin-backstage-community-plugin-analytics-module-ga4"
    );
    let header = &dom[..dom.find("</header>").unwrap()];
    assert!(header.contains("id=\"controls\"") && header.contains("href=\"#plugins\""), "the filter is at the top");
    // The page as a maintainer sees it with the filter set to the plugins the supported list leaves out.
    let filtered = variant(&page, "not-supported.html", |text| {
        without_policy(text).replace(
            "</body>",
            "<script>var s=document.getElementById('filter-state');s.value='not-supported';s.dispatchEvent(new Event('change'));</script></body>",
        )
    });
    assert!(dump_dom(&filtered, 1280).contains("3 of 10 plugins shown"));
    screenshot(&filtered, 1280, "not-supported-1280.png");
    screenshot(&filtered, 360, "not-supported-360.png");

    // An export that fails: the page says which plugin, why, with the log, and how to fix it,
    // from the report the failed TaskRun left in the runner's folder.
    let upstream = root.join("upstreams/community-plugins");
    std::fs::write(upstream.join("workspaces/tech-radar/plugins/tech-radar/EXPORT_FAILS"), "").unwrap();
    std::fs::write(upstream.join("workspaces/tech-radar/plugins/tech-radar/CHANGED"), "1").unwrap();
    commit(&upstream, "break tech-radar");
    git(&upstream, &["tag", "-f", "v1"]);
    let overlay = root.join("overlay");
    std::fs::write(overlay.join("workspaces/tech-radar/CHANGED"), "1").unwrap();
    commit(&overlay, "touch tech-radar");
    let (output, stdout) = sync(root, &midstream);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let dom = dump_dom(&page, 1280);
    let actions = &dom[dom.find("<section id=\"actions\"").unwrap()..dom.find("<section id=\"changes\"").unwrap()];
    assert!(actions.contains("@backstage-community/plugin-tech-radar"), "{actions}");
    assert!(actions.contains("export failed"), "{actions}");
    // The fix is this sync again (a lone `export` needs the plan the sync keeps in its folder).
    assert!(actions.contains("rhdh-catalog sync") && actions.contains("--tree"), "{actions}");
    assert!(actions.contains("this run made no index"), "no previous index is promised: {actions}");
    assert!(!actions.contains("keeps the previous one"), "{actions}");
    assert!(actions.contains("<pre>"), "the log excerpt: {actions}");
    assert!(dom.contains("Catalog status <span class=\"badge fail\">✗ Failed</span>"), "the run failed");
    assert!(dom.contains("title=\"skipped: unchanged since its last export"), "the workspaces the plan skipped say so");
    // What failed comes first, with its log; the index did not run, so no row claims a pin from
    // the checkout's previous catalog.
    let failures =
        &dom[dom.find("<section id=\"failures\"").expect("what failed")..dom.find("<section id=\"actions\"").unwrap()];
    assert!(failures.contains("<code>export</code>") && failures.contains("failed to export"), "{failures}");
    assert!(failures.contains(&root.join("out/sync/runs/export/export.log").display().to_string()), "{failures}");
    assert!(dom.contains("The run failed at <code>export</code>"), "the lede says so first");
    assert!(!dom.contains("data-state=\"pinned\""), "no row is pinned by a catalog this run did not make");
    assert!(!dom.contains("Every plugin in the catalog is pinned"));
    for image in ["backstage-community-plugin-tech-radar-backend", "red-hat-developer-hub-backstage-plugin-extensions"]
    {
        assert!(row_of(&dom, image).contains("index did not run"), "{}", row_of(&dom, image));
    }
    crate::sync_pipeline::assert_summary_columns(&stdout, &[("index", "skipped")]);
    assert!(stdout.contains("catalog:   none from this run"), "{stdout}");
    assert!(!stdout.contains("None"), "{stdout}");
    let report = std::fs::read_to_string(root.join("out/sync/report.md")).unwrap();
    assert!(report.contains("### Why") && report.contains("failed to export"), "report.md carries the cause: {report}");
    keep(&page, "export-failed.html");
    screenshot(&page, 1280, "export-failed-1280.png");
    screenshot(&page, 360, "export-failed-360.png");
}

// --- the page when a run fails ------------------------------------------------------------------

/// `sync` of the example with `store` and extra flags; returns the output and stdout.
fn sync_with(root: &Path, midstream: &Path, store: &str, extra: &[&str]) -> (std::process::Output, String) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let output = rhdh_catalog(root)
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .arg("sync")
        .arg("--tree")
        .arg(midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .args(["--store", store])
        .arg("--exporter")
        .arg(examples.join("recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The decision and reason `fetch` planned for every workspace of the last sync.
fn planned(root: &Path) -> BTreeMap<String, (String, String)> {
    let plan = read_json(&root.join("out/sync/runs/fetch/workdir/source/plan.json"));
    plan["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|workspace| {
            (
                workspace["name"].as_str().unwrap().to_string(),
                (
                    workspace["decision"].as_str().unwrap().to_string(),
                    workspace["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn section<'a>(dom: &'a str, id: &str, next: &str) -> &'a str {
    let start = dom.find(&format!("<section id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
    let end = start + dom[start..].find(&format!("id=\"{next}\"")).unwrap_or_else(|| panic!("no {next} after {id}"));
    &dom[start..end]
}

/// A store that changed between runs exports every workspace again (its images are not there);
/// an image the store lost makes the index fail, and the page says so first, with the index's
/// error and log, rows whose state is unknown, and the `--force-export` that fixes it, which does.
#[test]
fn a_changed_store_exports_again_and_an_index_that_failed_is_what_the_page_says_first() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let store = |name: &str| {
        let store = format!("oci-layout:{}", root.join(name).display());
        // The community catalog's images come from the upstream overlay's registry, which this
        // store stands in for too: sync builds only the supported catalog's images.
        if !root.join(name).exists() {
            crate::support::community_images(root, &root.join("overlay"), &store, None, None);
        }
        store
    };
    let (output, stdout) = sync_with(root, &midstream, &store("store-a"), &[]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    // Another store: nothing is skipped, each workspace says why, the index pins them there.
    let (output, stdout) = sync_with(root, &midstream, &store("store-b"), &[]);
    assert!(
        output.status.success(),
        "a changed store never yields a silent skip: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (workspace, (decision, reason)) in planned(root) {
        if decision == "drop" {
            continue;
        }
        assert_eq!(decision, "export", "{workspace}: {reason}");
        assert!(
            reason.contains("store-a") && reason.contains("store-b") && reason.contains("now"),
            "{workspace}: {reason}"
        );
    }
    assert!(stdout.contains("index:     7 plugins: 7 pinned"), "{stdout}");

    // The store loses one image: the plan skips its workspace (nothing changed), the index fails.
    std::fs::remove_dir_all(root.join("store-b/quay.io/rhdh/backstage-community-plugin-tech-radar")).unwrap();
    let (output, stdout) = sync_with(root, &midstream, &store("store-b"), &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed:    index:") && stdout.contains("tag not found"), "{stdout}");
    // The Pipeline's own report: the task that reads the index's artifact is skipped (Tekton skips a
    // finally task naming a failed task's result), the one without it says what failed.
    assert!(stdout.contains("report               skipped           (index did not succeed)"), "{stdout}");
    let summary = std::fs::read_to_string(root.join("out/sync/runs/report-without-index/results/summary")).unwrap();
    assert!(summary.starts_with("Failed"), "{summary}");
    let page = root.join("out/sync/status.html");
    let dom = dump_dom(&page, 1280);
    assert!(dom.contains("The run failed at <code>index</code>"), "the lede says what failed first");
    let failures = section(&dom, "failures", "notes");
    assert!(failures.contains("backstage-community-plugin-tech-radar:1.10.0--1.20.0 (tag not found)"), "{failures}");
    assert!(
        failures.contains(&root.join("out/sync/runs/index/index.log").display().to_string()),
        "the log: {failures}"
    );
    assert!(failures.contains("--force-export</code>"), "the fix: {failures}");
    assert!(dom.find("id=\"failures\"").unwrap() < dom.find("id=\"actions\"").unwrap(), "what failed comes first");
    assert!(!dom.contains("data-state=\"pinned\""), "the checkout's previous catalog is not this run's");
    assert!(!dom.contains("Every plugin in the catalog is pinned"));
    assert!(row_of(&dom, "backstage-community-plugin-tech-radar").contains("unknown: index failed"));
    let markdown = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    assert!(markdown.contains("### ❌ `index` failed") && markdown.contains("tag not found"), "{markdown}");
    let report = std::fs::read_to_string(root.join("out/sync/report.md")).unwrap();
    assert!(report.contains("**index** failed") && report.contains("tag not found"), "report.md says why: {report}");
    assert_fits(&page, 360);
    keep(&page, "index-failed.html");
    screenshot(&page, 1280, "index-failed-1280.png");
    screenshot(&page, 360, "index-failed-360.png");

    // The fix the page names: the workspace exported again, the index whole.
    let (output, stdout) = sync_with(root, &midstream, &store("store-b"), &["--force-export", "tech-radar"]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let plan = planned(root);
    assert_eq!(plan["tech-radar"], ("export".to_string(), "forced with --force-export".to_string()));
    assert_eq!(plan["extensions"].0, "skip", "only the named workspace: {plan:?}");
    assert!(stdout.contains("index:     7 plugins: 7 pinned"), "{stdout}");
}

/// A registry that refuses connections on a first run: one ACTION REQUIRED item naming the
/// registry, the cause, the plugins and the command to retry; no advice about the overlay or a
/// previous index that does not exist.
#[test]
fn an_unreachable_registry_on_a_first_run_is_one_item() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let closed = format!("127.0.0.1:{}", crate::support::free_port());
    let (output, stdout) = sync_with(
        root,
        &midstream,
        &format!("docker://{closed}"),
        &["--insecure-registry", &closed, "--registry-attempts", "1"],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let page = root.join("out/sync/status.html");
    let dom = dump_dom(&page, 1280);
    let actions = section(&dom, "actions", "changes");
    assert_eq!(actions.matches("<article class=\"action").count(), 1, "one item for one outage: {actions}");
    assert!(actions.contains(&format!("registry {closed} refuses connections")), "{actions}");
    assert!(actions.contains("7 plugins in 4 workspaces failed for this one cause"), "{actions}");
    assert!(actions.contains("Plugins (7)"), "{actions}");
    assert!(dom.contains("<b>7</b>failed exports"), "the three the supported list leaves out were not exported");
    assert!(
        actions.contains("rhdh-catalog sync") && actions.contains(&format!("--store docker://{closed}")),
        "the retry: {actions}"
    );
    for untrue in ["fix the cause in the overlay", "keeps the previous", "keeps the one it has"] {
        assert!(!actions.contains(untrue), "`{untrue}` is not true here: {actions}");
    }
    assert!(section(&dom, "failures", "notes").contains("<code>export</code>"));
    // The rows keep their npm names and versions (from the metadata) and say the index did not run.
    let row = row_of(&dom, "backstage-community-plugin-tech-radar-backend");
    assert!(row.contains("@backstage-community/plugin-tech-radar-backend") && row.contains("1.19.0"), "{row}");
    assert!(dom.find("id=\"plugins\"").is_some() && dom.contains("href=\"#plugins\""), "the table is a link away");
    let markdown = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    assert_eq!(markdown.matches("\n- ✗ export failed").count(), 1, "{markdown}");
    assert_fits(&page, 360);
    keep(&page, "registry-unreachable.html");
    screenshot(&page, 1280, "registry-unreachable-1280.png");
    screenshot(&page, 360, "registry-unreachable-360.png");
}

// --- the real overlay data ----------------------------------------------------------------------

const PREFIX: &str = "ghcr.io/redhat-developer/rhdh-plugin-export-overlays";

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))).unwrap()
}

fn store(registry: &Registry) -> Store {
    Store::parse(
        Some(&format!("docker://{}", registry.host)),
        &ClientOptions { insecure_registries: vec![registry.host.clone()], ..ClientOptions::default() },
    )
    .unwrap()
}

/// Pushes an image for `reference` with the build labels `build` names; `salt` changes its digest.
fn push(store: &Store, reference: &str, image: &str, build: &Value, salt: &str) -> Digest {
    let field = |key: &str| build.get(key).and_then(Value::as_str).map(str::to_string);
    let mut spec = ImageSpec {
        files: vec![LayerFile {
            path: format!("{image}/package.json"),
            contents: format!("{{\"name\":\"{image}\",\"salt\":\"{salt}\"}}").into_bytes(),
            ..LayerFile::default()
        }],
        ..ImageSpec::default()
    };
    for key in ["build-date", "vcs-ref"] {
        if let Some(value) = field(key) {
            spec.labels.insert(key.to_string(), value);
        }
    }
    if let Some(value) = field("io.backstage.dynamic-packages") {
        spec.annotations.insert("io.backstage.dynamic-packages".into(), value);
    }
    let reference = ImageReference::parse(reference).unwrap();
    let bytes = build_image(&spec).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(push_image(store, &reference, &bytes)).unwrap()
}

/// One image per upstream plugin build (as `index_reference` pushes them); image name → build.
fn populate(store: &Store) -> BTreeMap<String, Value> {
    let builds = reference_data().join("catalog-index-main/plugin_builds/supported");
    let mut found = BTreeMap::new();
    for file in files_under(&builds) {
        let document = read_json(&builds.join(&file));
        let (image, build) = document.as_object().unwrap().iter().next().unwrap();
        push(store, build["registryReference"].as_str().unwrap(), image, build, "");
        found.insert(image.clone(), build.clone());
    }
    found
}

/// Replaces `from` with `to` in a file, which must contain it.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Takes a plugin out of both package lists of an overlay copy.
fn drop_plugin(overlay: &Path, list_line: &str, package: &str) {
    edit(&overlay.join("rhdh-supported-packages.txt"), &format!("{list_line}\n"), "");
    let dpdy = overlay.join("default.packages.yaml");
    let text = std::fs::read_to_string(&dpdy).unwrap();
    let entry = format!("  - package: '{package}'\n");
    let start = text.find(&entry).unwrap_or_else(|| panic!("{package} is not in default.packages.yaml"));
    let after = start + entry.len();
    let end = after + text[after..].find('\n').unwrap() + 1;
    std::fs::write(&dpdy, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

fn run_index(registry: &Registry, work: &Path, overlay: &Path) {
    let commit = std::fs::read_to_string(overlay.join("SOURCE_COMMIT")).unwrap();
    rhdh_catalog(work)
        .current_dir(work)
        .env("SOURCE_DATE_EPOCH", "1781481600")
        .args(["index", "--registry", PREFIX, "--insecure-registry", &registry.host, "--allow-missing"])
        .arg("--store")
        .arg(format!("docker://{}", registry.host))
        .arg("--overlay")
        .arg(overlay)
        .args(["--overlay-commit", commit.split_whitespace().next().unwrap()])
        .args(["--source-repo", "https://github.com/redhat-developer/rhdh-plugin-export-overlays"])
        .args(["--report", "index-report.json"])
        .assert()
        .success();
}

/// Indexes a previous and a current overlay copy into `work` (`catalog-index/`, `index-report.json`).
fn index_previous_and_current(registry: &Registry, work: &Path) {
    let store = store(registry);
    let builds = populate(&store);
    // The previous index: without the two tech-radar plugins.
    let previous = work.join("overlay-previous");
    copy_dir(&reference_data().join("overlays-main"), &previous);
    drop_plugin(&previous, "tech-radar/plugins/tech-radar", "@backstage-community/plugin-tech-radar");
    drop_plugin(&previous, "tech-radar/plugins/tech-radar-backend", "@backstage-community/plugin-tech-radar-backend");
    run_index(registry, work, &previous);

    // This index: tech-radar back (added), rbac dropped (removed), global-header upgraded and
    // topology downgraded (both pushed), homepage bumped to a tag nobody pushed (its previous
    // digest kept), tech-radar-backend bumped likewise with no previous entry (left out),
    // quickstart rebuilt at the same tag (re-pinned), analytics-provider-segment disabled by default.
    let overlay = work.join("overlay");
    copy_dir(&reference_data().join("overlays-main"), &overlay);
    drop_plugin(&overlay, "rbac/plugins/rbac", "@backstage-community/plugin-rbac");
    let workspaces = overlay.join("workspaces");
    let metadata =
        |workspace: &str, name: &str| workspaces.join(workspace).join("metadata").join(format!("{name}.yaml"));
    let global_header = "red-hat-developer-hub-backstage-plugin-global-header";
    edit(&metadata("global-header", global_header), "  version: 2.0.0\n", "  version: 2.0.1\n");
    push(&store, &format!("{PREFIX}/{global_header}:bs_1.52.0__2.0.1"), global_header, &builds[global_header], "new");
    let topology = "backstage-community-plugin-topology";
    edit(&metadata("topology", topology), "  version: 2.16.0\n", "  version: 2.15.0\n");
    push(&store, &format!("{PREFIX}/{topology}:bs_1.52.0__2.15.0"), topology, &builds[topology], "old");
    edit(
        &metadata("homepage", "red-hat-developer-hub-backstage-plugin-homepage"),
        "  version: 1.17.1\n",
        "  version: 1.18.0\n",
    );
    edit(
        &metadata("tech-radar", "backstage-community-plugin-tech-radar-backend"),
        "  version: 1.19.0\n",
        "  version: 1.20.0\n",
    );
    let quickstart = "red-hat-developer-hub-backstage-plugin-quickstart";
    push(&store, builds[quickstart]["registryReference"].as_str().unwrap(), quickstart, &builds[quickstart], "rebuilt");
    let packages = overlay.join("default.packages.yaml");
    edit(
        &packages,
        "  - package: '@backstage-community/plugin-analytics-provider-segment'\n    support: \"generally-available\"\n",
        "",
    );
    edit(
        &packages,
        "  disabled: \n",
        "  disabled: \n  - package: '@backstage-community/plugin-analytics-provider-segment'\n    support: \"generally-available\"\n",
    );
    run_index(registry, work, &overlay);
}

/// Writes `work/export/export-reports/batch-3.json`: one plugin of bulk-import failed.
fn inject_failed_export(work: &Path) {
    // A failed export of one bulk-import plugin, as `export --report` writes it.
    let exports = work.join("export/export-reports");
    std::fs::create_dir_all(&exports).unwrap();
    let failed = serde_json::json!({"workspaces": {"bulk-import": {
    "status": "failed", "upstream-commit": "3f0c2a8d5e1b7a9c4d6e8f0a1b2c3d4e5f6a7b8c", "cause": "1 of 2 plugins failed",
    "plugins": [
        {"path": "plugins/bulk-import", "status": "failed", "package": "@red-hat-developer-hub/backstage-plugin-bulk-import",
         "version": "8.0.0", "cause": "`yarn tsc` exited with status 2",
         "log-tail": ["$ tsc", "src/components/BulkImportPage.tsx(42,7): error TS2322: Type 'string' is not assignable to type 'number'.",
                      "src/api/BulkImportBackendClient.ts(12,1): error TS2307: Cannot find module '@backstage/core-plugin-api/alpha'.",
                      "error Command failed with exit code 2."]},
        {"path": "plugins/bulk-import-backend", "status": "exported", "package": "@red-hat-developer-hub/backstage-plugin-bulk-import-backend",
         "version": "8.0.0", "image": format!("{PREFIX}/red-hat-developer-hub-backstage-plugin-bulk-import-backend@sha256:{}", "0".repeat(64))}
    ]}}});
    std::fs::write(exports.join("batch-3.json"), serde_json::to_vec_pretty(&failed).unwrap()).unwrap();
}

/// With the overlay given, every plugin of every plugins-list.yaml has a row, findable by its
/// folder in status.md, each in the catalog or saying why not.
fn assert_every_listed_plugin_has_a_row(work: &Path) {
    let output = rhdh_catalog(work)
        .current_dir(work)
        .args(["report", "--status", "Failed", "fetch=Succeeded", "export=Failed", "index=Succeeded"])
        .args(["--index-report", "index-report.json", "--catalog-index", "catalog-index", "--export-report", "export"])
        .args(["--overlay", "overlay", "--output-dir", "page-overlay"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let with_overlay = std::fs::read_to_string(work.join("page-overlay/status.md")).unwrap();
    let mut listed = 0;
    for workspace in std::fs::read_dir(work.join("overlay/workspaces")).unwrap() {
        let workspace = workspace.unwrap().path();
        let Ok(list) = std::fs::read_to_string(workspace.join("plugins-list.yaml")) else { continue };
        let name = workspace.file_name().unwrap().to_string_lossy().into_owned();
        for line in
            list.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#') && *line != "---")
        {
            let folder = line.split(':').next().unwrap().trim();
            let row = with_overlay
                .lines()
                .find(|row| row.contains(&format!("`{name}/{folder}`")))
                .unwrap_or_else(|| panic!("no row for {name}/{folder}"));
            assert!(
                row.contains(" | ✓ pinned") || row.contains("<br>") || row.contains("✗") || row.contains("⚠"),
                "{row}"
            );
            listed += 1;
        }
    }
    assert!(listed > 53, "{listed} plugins-list entries");
}

#[test]
fn status_page_of_the_real_overlay_with_a_missing_tag_and_a_failed_export() {
    let registry = Registry::shared();
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path();
    index_previous_and_current(&registry, work);
    inject_failed_export(work);

    let report = |out: &str, max_bytes: &str| {
        let output = rhdh_catalog(work)
            .current_dir(work)
            .args([
                "report",
                "--status",
                "Failed",
                "fetch=Succeeded",
                "export=Failed",
                "index=Succeeded",
                "commit=None",
            ])
            .args([
                "--index-report",
                "index-report.json",
                "--catalog-index",
                "catalog-index",
                "--export-report",
                "export",
            ])
            .args(["--branch", "release-1.10", "--revision", "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"])
            .args(["--source-date-epoch", "1781481600", "--page-url", "https://konflux.example/runs/42/status.html"])
            .args([
                "--output-dir",
                out,
                "--max-bytes",
                max_bytes,
                "--results-dir",
                out,
                "--output",
                &format!("{out}/comment.md"),
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let comment = report("page", "8192");
    let page = work.join("page/status.html");
    let bytes = std::fs::read(&page).unwrap();
    eprintln!(
        "status.html for the real overlay: {} bytes; markdown: {} bytes",
        bytes.len(),
        std::fs::read(work.join("page/status.md")).unwrap().len()
    );
    report("again", "8192");
    assert!(bytes == std::fs::read(work.join("again/status.html")).unwrap(), "same inputs, same bytes");

    let index_report = read_json(&work.join("index-report.json"));
    let images: Vec<String> = index_report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plugin| plugin["image"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(images.len(), 53);
    let mut sorted = images.clone();
    sorted.sort();
    let dom = dump_dom(&page, 1280);
    assert_page(
        &dom,
        &sorted,
        &[
            "@red-hat-developer-hub/backstage-plugin-bulk-import",
            "@backstage-community/plugin-tech-radar-backend",
            "@red-hat-developer-hub/backstage-plugin-homepage",
        ],
        &[
            ("added", &["@backstage-community/plugin-tech-radar"]),
            ("removed", &["backstage-community-plugin-rbac"]),
            ("upgraded", &["@red-hat-developer-hub/backstage-plugin-global-header"]),
            ("downgraded", &["@backstage-community/plugin-topology"]),
            ("repinned", &["@red-hat-developer-hub/backstage-plugin-quickstart"]),
            ("configuration", &["@backstage-community/plugin-analytics-provider-segment"]),
        ],
    );
    let actions = &dom[dom.find("<section id=\"actions\"").unwrap()..dom.find("<section id=\"changes\"").unwrap()];
    assert!(actions.contains("error TS2307"), "the log excerpt");
    assert!(actions.contains(
        "rhdh-catalog export --workspace bulk-import --registry ghcr.io/redhat-developer/rhdh-plugin-export-overlays"
    ));
    assert!(actions.contains("no image for tag bs_1.52.0__1.18.0; the previous index"), "{actions}");
    assert!(
        actions.contains("no image for tag bs_1.52.0__1.20.0 (tag not found); the plugin is left out"),
        "{actions}"
    );
    for total in [
        "<b>53</b>plugins",
        "<b>50</b>pinned at the requested tag",
        "<b>1</b>kept from the previous index",
        "<b>1</b>missing",
        "<b>1</b>failed export<",
    ] {
        assert!(dom.contains(total), "{total}");
    }
    assert!(dom.contains("2026-06-15T00:00:00Z"), "inputs' time from SOURCE_DATE_EPOCH");
    assert!(dom.contains("<td data-label=\"built (age)\" data-sort=\"2026-05-21T21:25:10Z\"><div>2026-05-21<br><span class=\"muted\">24 d</span>"), "ages count from the inputs' time");

    // The markdown for a comment: within the budget, actions and diff first, a pointer when cut.
    assert!(comment.len() <= 8192, "{} bytes", comment.len());
    assert_eq!(std::fs::read_to_string(work.join("page/comment.md")).unwrap(), comment);
    let position =
        |needle: &str| comment.find(needle).unwrap_or_else(|| panic!("{needle} not in the comment:\n{comment}"));
    assert!(position("ACTION REQUIRED (3)") < position("Changes since the previous index"));
    assert!(comment.contains("error TS2307"), "the log excerpt is in the comment");
    // npm scopes are live @mentions on GitHub: names are code spans (issue 20).
    assert!(comment.contains("| Downgraded | `@backstage-community/plugin-topology`"), "{comment}");
    assert!(
        comment.contains("Cut to fit 8192 bytes") && comment.contains("https://konflux.example/runs/42/status.html"),
        "{comment}"
    );
    let full = std::fs::read_to_string(work.join("page/status.md")).unwrap();
    for image in &images {
        assert!(full.contains(image.as_str()), "status.md names {image}");
    }
    let summary = std::fs::read_to_string(work.join("page/summary")).unwrap();
    assert_eq!(
        summary,
        "Failed: failed export; 53 plugins: 50 pinned, 0 fallback, 1 kept, 1 missing, 1 failed export; ACTION REQUIRED: 3"
    );

    let probed = probe_script(
        &page,
        "t.value='tech-radar';t.dispatchEvent(new Event('input'));out.push(c.textContent+': '+shown().join(','));\
t.value='';t.dispatchEvent(new Event('input'));s.value='missing';s.dispatchEvent(new Event('change'));\
out.push(c.textContent+': '+shown().join(','));s.value='';s.dispatchEvent(new Event('change'));\
th('state').click();out.push(shown()[0]);th('state').click();out.push(shown()[0]);",
    );
    assert_eq!(
        probed,
        "2 of 53 plugins shown: plugin-backstage-community-plugin-tech-radar,plugin-backstage-community-plugin-tech-radar-backend \
| 1 of 53 plugins shown: plugin-backstage-community-plugin-tech-radar-backend \
| plugin-red-hat-developer-hub-backstage-plugin-bulk-import \
| plugin-backstage-community-plugin-analytics-provider-segment",
        "filter by text, by state, sort by state up (export failed first) and down (pinned first, in name order: the sort is stable)"
    );
    assert_fits(&page, 360);
    assert_reads_without_scripts(&page, images.len());
    assert_no_external_request(&page);
    assert_every_listed_plugin_has_a_row(work);
    keep(&page, "overlay.html");
    keep(&work.join("page/status.md"), "overlay.md");
    keep(&work.join("page/comment.md"), "overlay-comment.md");
    screenshot(&page, 1280, "overlay-1280.png");
    screenshot(&page, 360, "overlay-360.png");
}

// --- the request check itself --------------------------------------------------------------------

/// The checks fail on a page that loads an image from elsewhere: the DOM check whatever the
/// policy says, and the counting proxy when the policy does not block it.
#[test]
fn status_page_request_check_fails_on_an_external_image() {
    let work = tempfile::tempdir().unwrap();
    let output = rhdh_catalog(work.path())
        .args(["report", "--status", "Succeeded", "fetch=Succeeded", "--output-dir"])
        .arg(work.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let page = work.path().join("status.html");
    assert_eq!(page_requests(&page), Vec::<String>::new());

    let image = "<img src=\"https://status-page.invalid/pixel.png\" alt=\"\">";
    let with_policy = variant(&page, "with-image.html", |text| text.replace("<main>", &format!("<main>{image}")));
    assert_eq!(external_references(&dump_dom(&with_policy, 1280)), ["src=\"https://status-page.invalid/pixel.png"]);
    let without = variant(&page, "with-image-no-policy.html", |text| {
        without_policy(text).replace("<main>", &format!("<main>{image}"))
    });
    assert_eq!(page_requests(&without), ["CONNECT status-page.invalid:443"], "the proxy sees the page's request");
    assert_eq!(page_requests(&with_policy), Vec::<String>::new(), "the page's policy blocks it");
}

/// A build report (the shape `index` is about to write next to the index) fills in the fallback
/// tag, the stages and the published index image; `--max-bytes` below the header's size is refused.
#[test]
fn status_page_reads_a_build_report_fixture() {
    let work = tempfile::tempdir().unwrap();
    let digest = format!("sha256:{}", "c".repeat(64));
    let index_report = serde_json::json!({"summary": {}, "changed": true, "plugins": [
        {"image": "scope-plugin", "workspace": "scope", "reference": "quay.io/rhdh/scope-plugin:1.10.0--2.1.0", "status": "fallback", "digest": digest},
        {"image": "scope-other", "workspace": "scope", "reference": "quay.io/rhdh/scope-other:1.10.0--1.0.0", "status": "pinned", "digest": digest}
    ]});
    let build_report = serde_json::json!({
        "metadata": {"catalog-index-image": format!("quay.io/rhdh/plugin-catalog-index:1.10@sha256:{}", "d".repeat(64)), "last-successful-publish": null},
        "summary": {"total": 2, "succeeded": 2, "failed": 0, "status": "partial"},
        "plugins": {
            "scope-plugin": {"package": "@scope/plugin", "version": "2.1.0", "workspace": "scope",
                "stages": {"bootstrap": {"status": "pass", "oci_ref": "quay.io/rhdh/scope-plugin:1.10.0--2.1.0"},
                           "image-metadata-fetch": {"status": "pass", "digest": digest, "platformDigest": digest, "fallback": true,
                                                    "requestedTag": "1.10.0--2.1.0", "resolvedTag": "1.10.0--2.0.0"},
                           "dpdy": {"status": "pass"}, "catalog-index": {"status": "pass"}},
                "overall": "pass", "action": "ACTION REQUIRED: build and push quay.io/rhdh/scope-plugin:1.10.0--2.1.0"},
            "scope-other": {"package": "@scope/other", "version": "1.0.0", "workspace": "scope",
                "stages": {"bootstrap": {"status": "pass"}, "image-metadata-fetch": {"status": "pass", "digest": digest},
                           "dpdy": {"status": "skip", "reason": "not in default.packages.yaml"}, "catalog-index": {"status": "fail", "reason": "no entity"}},
                "overall": "fail"}
        }
    });
    std::fs::write(work.path().join("index-report.json"), index_report.to_string()).unwrap();
    std::fs::write(work.path().join("build-report.json"), build_report.to_string()).unwrap();
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["report", "--status", "Succeeded", "index=Succeeded", "--index-report", "index-report.json"])
        .args(["--build-report", "build-report.json", "--output-dir", "page"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let markdown = std::fs::read_to_string(work.path().join("page/status.md")).unwrap();
    assert!(markdown.contains("⚠ fallback tag `@scope/plugin`"), "{markdown}");
    assert!(
        markdown.contains("tag 1.10.0--2.0.0 of the same image was pinned instead. ACTION REQUIRED: build and push"),
        "{markdown}"
    );
    assert!(markdown.contains("| `1.10.0--2.1.0` | `1.10.0--2.0.0` |"), "requested and resolved tag: {markdown}");
    assert!(markdown.contains(&format!("**index digest** `sha256:{}`", "d".repeat(64))), "{markdown}");
    assert!(
        markdown.contains("| ✓ ok | – skipped | ✗ failed | ○ not run |"),
        "resolve, DPDY, entities, install check of @scope/other: {markdown}"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout, markdown, "a small page is printed whole");

    let refused = rhdh_catalog(work.path()).args(["report", "--max-bytes", "100"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--max-bytes `100` leaves no room"));
}

// --- the community catalog ----------------------------------------------------------------------

/// The community catalog's section of a page: from its `<section id="community"` to the next
/// catalog-level section after its plugin table.
fn community_section(dom: &str) -> &str {
    let start = dom.find("<section id=\"community\"").expect("the community catalog's section");
    let end = dom[start..].find("</table>").map_or(dom.len(), |end| start + end);
    &dom[start..end]
}

/// The example's sync with both catalogs built: the page has the community catalog as a section
/// of its own (what it is to RHDH, whether its image was published, its counts, a row for every
/// plugin of `rhdh-community-packages.txt`, each pinned in the upstream's registry), the supported
/// table keeps its own rows, and `status.md` and the report's summary have the same.
#[test]
fn status_page_of_the_example_sync_has_the_community_catalog_as_its_own_section() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let (output, stdout) = sync(root, &midstream);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("; community: 3 plugins: 3 pinned"), "{stdout}");
    let page = root.join("out/sync/status.html");
    let dom = dump_dom(&page, 1280);
    let community = community_section(&dom);
    assert!(
        community.contains("<code>EXTRA_CATALOG_INDEX_IMAGES</code>")
            && community.contains("no <code>dynamic-plugins.default.yaml</code>"),
        "what it is to RHDH: {community}"
    );
    assert!(community.contains("Every plugin in it is pinned at its requested tag"), "{community}");
    assert!(
        community.contains("<dt>community registry</dt><dd>ghcr.io/redhat-developer/rhdh-plugin-export-overlays</dd>"),
        "where its images are: {community}"
    );
    // A local sync publishes no image (publish=false): the section says so, as the page's header does.
    assert!(community.contains("not published by this run"), "{community}");
    // Its own counts: 3 plugins, all pinned.
    let totals = &community[community.find("id=\"community-totals\"").expect("its counts")..];
    let totals = &totals[..totals.find("</ul>").unwrap()];
    for count in [
        "<b>3</b>plugins",
        "<b>3</b>pinned at the requested tag",
        "<b>0</b>fallback tag",
        "<b>0</b>kept from the previous index",
        "<b>0</b>missing",
    ] {
        assert!(totals.contains(count), "{count}: {totals}");
    }
    // A row for every plugin of rhdh-community-packages.txt, each pinned in the upstream's registry.
    let modules = [
        "backstage-community-plugin-analytics-module-ga4",
        "backstage-community-plugin-analytics-module-matomo",
        "backstage-community-plugin-analytics-module-newrelic-browser",
    ];
    assert_eq!(community.matches("<tr id=\"community-plugin-").count(), modules.len(), "{community}");
    for image in modules {
        let row = &community[community.find(&format!("<tr id=\"community-plugin-{image}\"")).expect(image)..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("data-state=\"pinned\"") && row.contains("bs_1.52.0__"), "{image}: {row}");
        // In the supported table the same plugin says where it is.
        assert!(row_of(&dom, image).contains("the community catalog lists it"), "{}", row_of(&dom, image));
    }
    assert!(dom.find("id=\"plugins\"").unwrap() < dom.find("<section id=\"community\"").unwrap());

    let markdown = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    let start = markdown.find("\n### Community catalog\n").expect("status.md's community section");
    let section = &markdown[start..];
    assert!(section.contains("`EXTRA_CATALOG_INDEX_IMAGES`"), "{section}");
    assert!(section.contains("**index image** not published by this run"), "{section}");
    assert!(
        section.contains(
            "**3 plugins**: 3 pinned at the requested tag · 0 fallback tag · 0 kept from the previous index · 0 missing"
        ),
        "{section}"
    );
    let plugins = &markdown[markdown.find("\n### Community catalog plugins (3)\n").expect("its plugin table")..];
    for image in modules {
        assert!(plugins.contains(image), "{image}: {plugins}");
    }
    assert_fits(&page, 360);
    assert_no_external_request(&page);
    keep(&page, "community.html");
    screenshot(&page, 1280, "community-1280.png");
}

/// An index that fails after a run that built the community catalog (the checkout holds that
/// catalog): the community section says the index failed in this run, shows no catalog or image
/// as this run's, and still has a row for every plugin of its list, in the page and in status.md.
#[test]
fn an_index_that_failed_leaves_the_community_section_without_a_catalog_of_this_run() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let (output, stdout) = sync(root, &midstream);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(midstream.join("catalog-index-community/index.json").is_file(), "the checkout has the previous one");

    // The upstream's registry loses one community image: the index fails.
    let lost = root.join(
        "out/registry/ghcr.io/redhat-developer/rhdh-plugin-export-overlays/backstage-community-plugin-analytics-module-ga4",
    );
    assert!(lost.is_dir(), "{}", lost.display());
    std::fs::remove_dir_all(&lost).unwrap();
    let (output, stdout) = sync(root, &midstream);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed:    index:"), "{stdout}");
    assert!(!stdout.contains("\ncommunity: "), "no community catalog from this run: {stdout}");

    let page = root.join("out/sync/status.html");
    let dom = dump_dom(&page, 1280);
    let community = community_section(&dom);
    let intro = &community[..community.find("<dl").unwrap_or(community.len())];
    assert!(intro.contains("The index task failed in this run"), "said first: {community}");
    assert!(community.contains("not published by this run"), "{community}");
    assert!(!community.contains("data-state=\"pinned\""), "the checkout's catalog is not this run's: {community}");
    assert!(!community.contains("sha256:"), "no digest of an earlier catalog: {community}");
    assert_eq!(community.matches("<tr id=\"community-plugin-").count(), 3, "{community}");
    for image in [
        "backstage-community-plugin-analytics-module-ga4",
        "backstage-community-plugin-analytics-module-matomo",
        "backstage-community-plugin-analytics-module-newrelic-browser",
    ] {
        let row = &community[community.find(&format!("<tr id=\"community-plugin-{image}\"")).expect(image)..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("index failed"), "{image}: {row}");
    }
    let markdown = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    let section = &markdown[markdown.find("\n### Community catalog\n").expect("status.md's community section")..];
    assert!(section.contains("> ⚠️ the index task failed in this run"), "{section}");
    assert!(section.contains("**index image** not published by this run"), "{section}");
    assert!(markdown.contains("### Community catalog plugins (3)"), "{markdown}");
    keep(&page, "community-index-failed.html");

    // `report` given the community catalog folder the checkout keeps but no community index report
    // of this run (as a Task whose index made none): the folder is not shown as this run's.
    let output = rhdh_catalog(root)
        .args(["report", "--status", "Succeeded", "index=Succeeded", "--community-index-report"])
        .arg(root.join("nowhere/index-report-community.json"))
        .arg("--community-catalog-index")
        .arg(midstream.join("catalog-index-community"))
        .arg("--overlay")
        .arg(root.join("overlay"))
        .arg("--output-dir")
        .arg(root.join("report-only"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dom = dump_dom(&root.join("report-only/status.html"), 1280);
    let community = community_section(&dom);
    assert!(community.contains("made no community catalog, or its report was not given"), "{community}");
    assert!(!community.contains("data-state=\"pinned\""), "{community}");
    assert_eq!(community.matches("<tr id=\"community-plugin-").count(), 3, "{community}");
}
