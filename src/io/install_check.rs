//! The checks the RHDH installer makes at pod start, made before release: a `dynamic-plugins*.yaml`
//! (with its includes) or an index image read, the static rules of [`crate::domain::validate`]
//! applied, then, against the registry, every OCI package (enabled or disabled) present, annotated
//! with `io.backstage.dynamic-packages`, holding its plugin folder in its first layer and no entry
//! over the installer's size limit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::domain::validate::{Entry, Finding, Severity, parse_oci, static_findings};
use crate::error::InputError;
use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::plugin_image::{DYNAMIC_PACKAGES_ANNOTATION, plugin_paths};
use crate::io::registry::{Digest, ImageReference, Store};

/// An include file name with its line.
type Include = (String, Option<u64>);

fn entries_of(file: &Path, level: u8) -> Result<(Vec<Entry>, Vec<Include>), InputError> {
    let text = crate::io::fs::read_text(file)?;
    entries_of_text(file, &text, level)
}

/// The installer's static rules applied to a `dynamic-plugins*.yaml` not written yet (`file`
/// names it in messages): what a step is about to write, checked before it is written. Only
/// findings that the installer refuses (errors).
pub(crate) fn static_errors(file: &Path, text: &str) -> Result<Vec<Finding>, InputError> {
    let (entries, _) = entries_of_text(file, text, 1)?;
    Ok(static_findings(&entries).into_iter().filter(|finding| finding.severity == Severity::Error).collect())
}

fn entries_of_text(file: &Path, text: &str, level: u8) -> Result<(Vec<Entry>, Vec<Include>), InputError> {
    let parsed = DynamicPluginsFile::parse(file, text)?;
    let entries = parsed
        .plugins
        .iter()
        .map(|plugin| Entry {
            file: file.display().to_string(),
            level,
            package: plugin.package.clone(),
            disabled: plugin.is_disabled(),
            integrity: plugin.integrity.clone().filter(|integrity| !integrity.is_empty()),
            plugin_config: plugin.plugin_config.clone(),
            line: plugin.package_line.or(plugin.line),
        })
        .collect();
    let includes =
        parsed.includes.into_iter().zip(parsed.include_lines.into_iter().chain(std::iter::repeat(None))).collect();
    Ok((entries, includes))
}

/// A user's file: its includes are level 0, relative to its folder.
pub(crate) async fn validate_file(store: &Store, file: &Path, registry: bool) -> anyhow::Result<Vec<Finding>> {
    let (mut entries, includes) = entries_of(file, 1)?;
    let mut findings = Vec::new();
    let folder = file.parent().unwrap_or(Path::new("."));
    let mut all = Vec::new();
    for (include, line) in includes {
        // Includes are read only from the file's folder (its content tree): a `..` that climbs
        // out, or a link, is refused when the file is opened; an absolute path names a file of
        // the installer's machine, never one of this machine to read.
        if Path::new(&include).is_absolute() {
            return Err(InputError::in_file(
                file,
                format!(
                    "includes `{}`, an absolute path: validate reads includes only from the folder of the file",
                    crate::formats::shown::shown(&include)
                ),
            )
            .at_line(line)
            .with_hint("copy the included file beside this one and include it by its name")
            .into());
        }
        let path = folder.join(&include);
        if !path.exists() {
            findings.push(Finding {
                file: file.display().to_string(),
                line,
                package: include.clone(),
                severity: Severity::Warning,
                rule: "include",
                message: "include not found; the installer skips it (it substitutes dynamic-plugins.default.yaml from CATALOG_INDEX_IMAGE)".into(),
            });
            continue;
        }
        let (from_include, _) = entries_of(&path, 0)?;
        all.extend(from_include);
    }
    all.append(&mut entries);
    findings.extend(static_findings(&all));
    if registry {
        findings.extend(registry_findings(store, &all).await?);
    }
    Ok(findings)
}

/// An index image: the layout the installer needs, then its DPDY as a main file.
pub(crate) async fn validate_image(
    store: &Store,
    reference: &ImageReference,
    registry: bool,
) -> anyhow::Result<Vec<Finding>> {
    let scratch = tempfile::tempdir()?;
    crate::io::catalog_source::unpack_image(store, reference, scratch.path()).await?;
    let dpdy = scratch.path().join("dynamic-plugins.default.yaml");
    let mut findings = Vec::new();
    let finding = |severity, rule, message: &str| Finding {
        file: reference.to_string(),
        line: None,
        package: String::new(),
        severity,
        rule,
        message: message.to_string(),
    };
    // A link that leads nowhere is read (and refused by name) like any other file.
    if !dpdy.is_file() && !dpdy.is_symlink() {
        findings.push(finding(Severity::Error, "index-layout", "no dynamic-plugins.default.yaml at the image root"));
        return Ok(findings);
    }
    if !scratch.path().join("catalog-entities/extensions").is_dir() {
        findings.push(finding(
            Severity::Warning,
            "index-layout",
            "no catalog-entities/extensions/ (the extensions catalog will be empty)",
        ));
    }
    let (entries, includes) = entries_of(&dpdy, 1)?;
    if !includes.is_empty() {
        findings.push(finding(Severity::Error, "index-layout", "dynamic-plugins.default.yaml must not have includes"));
    }
    for found in static_findings(&entries).into_iter().chain(if registry {
        registry_findings(store, &entries).await?
    } else {
        Vec::new()
    }) {
        findings.push(Finding { file: format!("{reference}:dynamic-plugins.default.yaml"), ..found });
    }
    Ok(findings)
}

/// The installer skips (catalog index) or refuses as a "zip bomb" (plugin image) any tar entry
/// larger than this (`MAX_ENTRY_SIZE`, 40 MB since RHDH 1.10).
pub(crate) const MAX_ENTRY_SIZE: u64 = 40_000_000;

/// Entries of a first layer kept for the folder check; past this the layer is reported, not read
/// on (a real plugin layer holds a few thousand). With [`MAX_LAYER_NAME_BYTES`] this bounds what
/// validate keeps of one layer far below the validate Task's 512 MiB.
pub(crate) const MAX_LAYER_ENTRIES: usize = 200_000;
/// Bytes of entry names kept of one layer.
pub(crate) const MAX_LAYER_NAME_BYTES: usize = 32 * 1024 * 1024;
/// Bytes a first layer may unpack to (read as a stream, never held): past this the layer is
/// reported instead of read for minutes (a gzip bomb).
pub(crate) const MAX_LAYER_UNPACKED_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What the registry says about one image (fetched once per image).
#[derive(Clone, Debug)]
enum ImageState {
    Missing,
    Present { annotated: Option<Vec<String>>, listing: LayerListing },
}

/// What a first layer holds, as far as the installer's checks need — never its entry names,
/// which a hostile layer makes tens of MB of per image (twenty such images took validate past its
/// Task's 512 Mi): which of the plugin folders asked about it has entries, the first entries over
/// the installer's size limit and their count, and why it could not be read to its end.
#[derive(Clone, Debug, Default)]
struct LayerListing {
    folders: BTreeSet<String>,
    oversized: Vec<String>,
    oversized_count: usize,
    unreadable: Option<String>,
}

/// Names of oversized entries kept for the message.
const OVERSIZED_SHOWN: usize = 10;

/// The image an OCI entry is checked against, with its plugin path: `{{inherit}}` resolved from
/// the includes; `None` for anything else (not OCI, or an inherit without a match, which is a
/// static finding already).
fn check_target(entry: &Entry, entries: &[Entry]) -> Option<crate::domain::validate::OciPackage> {
    let oci = parse_oci(&entry.package)?;
    if !oci.is_inherit() {
        return Some(oci);
    }
    let inherited = entries
        .iter()
        .filter(|other| other.level == 0)
        .filter_map(|other| parse_oci(&other.package))
        .find(|other| other.repository == oci.repository && (oci.path.is_none() || other.path == oci.path))?;
    Some(crate::domain::validate::OciPackage { path: oci.path.clone().or(inherited.path.clone()), ..inherited })
}

/// Every OCI image present, annotated, and holding its plugin folder in its first layer.
pub(crate) async fn registry_findings(store: &Store, entries: &[Entry]) -> anyhow::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut states: BTreeMap<String, ImageState> = BTreeMap::new();
    // The plugin folders asked of each image, so that its first layer is read once and only
    // whether each is there is kept.
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for target in entries.iter().filter_map(|entry| check_target(entry, entries)) {
        let paths = wanted.entry(target.image()).or_default();
        paths.extend(target.path.clone());
    }
    for entry in entries {
        let Some(target) = check_target(entry, entries) else { continue };
        let image = target.image();
        let problem = |severity, rule, message: String| Finding {
            file: entry.file.clone(),
            line: entry.line,
            package: entry.package.clone(),
            severity,
            rule,
            message,
        };
        let Ok(reference) = ImageReference::parse(&image) else {
            findings.push(problem(Severity::Error, "oci-reference", format!("`{image}` is not an image reference")));
            continue;
        };
        if !states.contains_key(&image) {
            let state = match inspect(store, &reference, &KnownFacts::new()).await? {
                None => ImageState::Missing,
                Some(facts) => {
                    let annotated =
                        facts.annotations.get(DYNAMIC_PACKAGES_ANNOTATION).and_then(|value| plugin_paths(value));
                    let mut asked = wanted.get(&image).cloned().unwrap_or_default();
                    if let Some([single]) = annotated.as_deref() {
                        asked.insert(single.clone());
                    }
                    let listing = match facts.layers.first() {
                        Some(layer) => {
                            let digest = Digest::parse(&layer.digest).map_err(anyhow::Error::msg)?;
                            // Streamed from a file, never whole in memory: a small layer can unpack to gigabytes.
                            let file = store.open_blob(&reference, &digest, Some(layer.size)).await?;
                            tokio::task::spawn_blocking(move || layer_listing(file, &LayerLimits::TASK, &asked)).await?
                        }
                        None => LayerListing::default(),
                    };
                    ImageState::Present { annotated, listing }
                }
            };
            states.insert(image.clone(), state);
        }
        match &states[&image] {
            ImageState::Missing => findings.push(problem(
                Severity::Error,
                "image-present",
                format!("{image} does not exist in the registry"),
            )),
            ImageState::Present { annotated, listing } => {
                let LayerListing { folders, oversized, oversized_count, unreadable } = listing;
                if let Some(problem) = unreadable {
                    findings.push(problem_finding(
                        entry,
                        Severity::Error,
                        "layer-readable",
                        format!("the first layer of {image} {problem}"),
                    ));
                    continue;
                }
                if !oversized.is_empty() {
                    let more = oversized_count.saturating_sub(oversized.len());
                    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                    findings.push(problem(
                        Severity::Error,
                        "entry-size",
                        format!(
                            "{image} has files over the installer's {MAX_ENTRY_SIZE}-byte limit: {}{more}",
                            oversized.join(", ")
                        ),
                    ));
                }
                if annotated.is_none() {
                    let severity = if target.path.is_none() { Severity::Error } else { Severity::Warning };
                    findings.push(problem(
                        severity,
                        "annotation",
                        format!("{image} has no readable {DYNAMIC_PACKAGES_ANNOTATION} annotation"),
                    ));
                }
                let path = match (&target.path, annotated.as_deref()) {
                    (Some(path), _) => path.clone(),
                    (None, Some([single])) => single.clone(),
                    (None, Some(many)) => {
                        findings.push(problem(Severity::Error, "auto-path", format!("{image} annotates {} plugins; a path-less reference needs exactly one (add `!<plugin-path>`)", many.len())));
                        continue;
                    }
                    (None, None) => continue,
                };
                if !folders.contains(&path) {
                    findings.push(problem(
                        Severity::Error,
                        "layer-path",
                        format!("the first layer of {image} has no `{path}/` folder"),
                    ));
                }
            }
        }
    }
    Ok(findings)
}

fn problem_finding(entry: &Entry, severity: Severity, rule: &'static str, message: String) -> Finding {
    Finding { file: entry.file.clone(), line: entry.line, package: entry.package.clone(), severity, rule, message }
}

/// How much of a layer [`layer_listing`] reads and keeps.
struct LayerLimits {
    entries: usize,
    name_bytes: usize,
    unpacked_bytes: u64,
}

impl LayerLimits {
    /// What the validate Task's memory affords (see the constants above).
    const TASK: LayerLimits = LayerLimits {
        entries: MAX_LAYER_ENTRIES,
        name_bytes: MAX_LAYER_NAME_BYTES,
        unpacked_bytes: MAX_LAYER_UNPACKED_BYTES,
    };
}

/// Which of the plugin folders `asked` a tar layer (gzipped or not) has entries under (the
/// installer extracts the members whose name starts with `<folder>/`), and its entries over the
/// installer's size limit, read as a stream within `limits`.
fn layer_listing(mut file: std::fs::File, limits: &LayerLimits, asked: &BTreeSet<String>) -> LayerListing {
    use std::io::{Read, Seek};
    let prefixes: Vec<(String, &String)> = asked.iter().map(|folder| (format!("{folder}/"), folder)).collect();
    let mut magic = [0u8; 2];
    let gzipped = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    if file.rewind().is_err() {
        return LayerListing { unreadable: Some("could not be read again".into()), ..LayerListing::default() };
    }
    let reader: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut counted =
        CountingReader { inner: reader, read: 0, limit: limits.unpacked_bytes, exceeded: exceeded.clone() };
    let mut listing = LayerListing::default();
    let (mut name_bytes, mut entry_count) = (0usize, 0usize);
    let mut archive = tar::Archive::new(&mut counted);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(error) => {
            listing.unreadable = Some(format!("is not a readable tar archive ({error})"));
            return listing;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let problem = if exceeded.get() {
                    format!("unpacks to more than {} bytes; it was not read to its end", limits.unpacked_bytes)
                } else {
                    format!("is not a readable tar archive ({error})")
                };
                listing.unreadable = Some(problem);
                return listing;
            }
        };
        let Ok(path) = entry.path() else { continue };
        let name = path.to_string_lossy().into_owned();
        name_bytes += name.len();
        if entry_count >= limits.entries || name_bytes > limits.name_bytes {
            listing.unreadable = Some(format!(
                "holds more than {} entries (or {} bytes of names); a plugin layer holds a few thousand",
                limits.entries, limits.name_bytes
            ));
            return listing;
        }
        entry_count += 1;
        if entry.size() > MAX_ENTRY_SIZE {
            listing.oversized_count += 1;
            if listing.oversized.len() < OVERSIZED_SHOWN {
                listing.oversized.push(name.clone());
            }
        }
        let relative = name.trim_start_matches("./");
        for (prefix, folder) in &prefixes {
            if relative.starts_with(prefix.as_str()) && !listing.folders.contains(*folder) {
                listing.folders.insert((*folder).clone());
            }
        }
    }
    listing
}

/// Counts what passes through and stops past `limit`.
struct CountingReader<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.read += count as u64;
        if self.read > self.limit {
            self.exceeded.set(true);
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, u64)], gzipped: bool) -> std::fs::File {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, size) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(*size);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, std::io::Read::take(std::io::repeat(0), *size)).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let bytes = if gzipped {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &tar).unwrap();
            encoder.finish().unwrap()
        } else {
            tar
        };
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        file
    }

    const SMALL: LayerLimits = LayerLimits { entries: 3, name_bytes: 1000, unpacked_bytes: 64 * 1024 };

    #[test]
    fn a_layer_is_listed_within_its_limits() {
        for gzipped in [true, false] {
            let asked: BTreeSet<String> = ["p", "q", "p/a"].iter().map(|folder| (*folder).to_string()).collect();
            let listing = layer_listing(layer(&[("p/a", 1), ("./p/b", 2)], gzipped), &SMALL, &asked);
            assert_eq!(listing.folders.iter().map(String::as_str).collect::<Vec<_>>(), ["p"]);
            assert!(listing.unreadable.is_none());
        }
        let listing = layer_listing(layer(&[("a", 0), ("b", 0), ("c", 0), ("d", 0)], true), &SMALL, &BTreeSet::new());
        assert!(listing.unreadable.unwrap().contains("more than 3 entries"));
        let listing = layer_listing(layer(&[("zeros", 100 * 1024)], true), &SMALL, &BTreeSet::new());
        assert!(listing.unreadable.unwrap().contains("unpacks to more than 65536 bytes"));
        let mut garbage = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut garbage, &[0x1f, 0x8b, 1, 2, 3]).unwrap();
        std::io::Seek::rewind(&mut garbage).unwrap();
        assert!(
            layer_listing(garbage, &SMALL, &BTreeSet::new()).unreadable.unwrap().contains("not a readable tar archive")
        );
    }
}
