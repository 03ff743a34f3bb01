//! `dynamic-plugins*.yaml` through `validate --no-registry`: references by both grammars (the
//! installer's pattern and the distribution spec), plugin paths, SRI integrity, look-alike
//! characters, strict keys, booleans written as strings, wrong types at every level, and the YAML
//! reader's limits. Findings exit 1 with `file:line`; a file the installer would misread exits 2.

use super::{Expect, alias_bomb, check, deep_block, deep_flow, report, write_files};

const FILE: &str = "dynamic-plugins.yaml";
const DIGEST: &str = "sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479";

fn run(cases: Vec<(String, Vec<u8>, Expect)>) -> Vec<Result<(), String>> {
    cases
        .into_iter()
        .map(|(name, bytes, expect)| {
            let dir = tempfile::tempdir().unwrap();
            write_files(dir.path(), &[(FILE, bytes)]);
            check(&name, dir.path(), &["validate".into(), FILE.into(), "--no-registry".into()], &expect)
        })
        .collect()
}

/// One plugin entry on line 2 with `package: <package>` (written as given: quote it yourself).
fn package(package: &str) -> Vec<u8> {
    format!("plugins:\n  - package: {package}\n").into_bytes()
}

fn finding(rule: &str, extra: &[&str]) -> Expect {
    let rule = format!("[{rule}]");
    let mut fragments = vec![format!("{FILE}:2:"), rule];
    fragments.extend(extra.iter().map(|fragment| (*fragment).to_string()));
    Expect { code: 1, fragments }
}

#[test]
fn hostile_references() {
    let upper_digest = DIGEST.to_ascii_uppercase().replace("SHA256", "sha256");
    let long_name = format!("oci://quay.io/{}:1", "a".repeat(250));
    let huge = format!("oci://quay.io/rhdh/{}:1", "a".repeat(300_000));
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("short digest", "oci://quay.io/rhdh/x@sha256:abc".into(), vec!["64 lowercase hex characters, it has 3"]),
        ("uppercase digest", format!("oci://quay.io/rhdh/x@{upper_digest}"), vec!["uppercase hex is not allowed"]),
        ("digest one short", format!("oci://quay.io/rhdh/x@{}", &DIGEST[..DIGEST.len() - 1]), vec!["it has 63"]),
        ("digest one long", format!("oci://quay.io/rhdh/x@{DIGEST}a"), vec!["it has 65"]),
        (
            "sha512 digest too short",
            format!("oci://quay.io/rhdh/x@sha512:{}", "a".repeat(64)),
            vec!["128 lowercase hex"],
        ),
        ("md5 digest", "oci://quay.io/rhdh/x@md5:0123456789abcdef0123456789abcdef".into(), vec![]),
        (
            "blake3 digest",
            format!("oci://quay.io/rhdh/x@blake3:{}", "a".repeat(64)),
            vec!["unsupported digest algorithm `blake3`"],
        ),
        ("uppercase repository", "oci://quay.io/RHDH/x:1".into(), vec!["uppercase letters in `RHDH`"]),
        ("double dot in path", "oci://quay.io/rhdh/a..b:1".into(), vec!["is not a repository path"]),
        ("dot dash separator", "oci://quay.io/rhdh/a.-b:1".into(), vec!["is not a repository path"]),
        ("triple underscore", "oci://quay.io/rhdh/a___b:1".into(), vec!["is not a repository path"]),
        ("component starting with dash", "oci://quay.io/rhdh/-a:1".into(), vec!["is not a repository path"]),
        ("component ending with dot", "oci://quay.io/rhdh/a.:1".into(), vec!["is not a repository path"]),
        ("empty component", "oci://quay.io/rhdh//a:1".into(), vec![]),
        ("tag starting with dot", "oci://quay.io/rhdh/x:.1".into(), vec!["is not a valid tag"]),
        ("tag starting with dash", "oci://quay.io/rhdh/x:-1".into(), vec!["is not a valid tag"]),
        ("tag with plus", "oci://quay.io/rhdh/x:1.0+build".into(), vec!["is not a valid tag"]),
        ("tag of 129 characters", format!("oci://quay.io/rhdh/x:{}", "t".repeat(129)), vec!["is not a valid tag"]),
        ("name over 255 characters", long_name, vec!["more than the 255 a registry accepts"]),
        ("300 000 characters", huge, vec!["characters long", "characters)"]),
        ("NUL in the reference", "\"oci://quay.io/rhdh/x\\0:1\"".into(), vec!["U+0000"]),
        ("newline in the reference", "\"oci://quay.io/rhdh/x\\n:1\"".into(), vec!["U+000A"]),
        ("Cyrillic a in the path", "oci://quay.io/rh\u{0430}dh/x:1".into(), vec!["U+0430"]),
        ("Cyrillic e in the host", "oci://quay.\u{0435}xample.io/rhdh/x:1".into(), vec!["U+0435"]),
        ("zero-width space in the tag", "oci://quay.io/rhdh/x:1\u{200B}".into(), vec!["U+200B"]),
        ("right-to-left override", "oci://quay.io/rhdh/x\u{202E}:1".into(), vec!["U+202E"]),
        ("no tag or digest", "oci://quay.io/rhdh/x".into(), vec![]),
        ("port not a number", "oci://quay.io:abc/x:1".into(), vec![]),
        ("port out of range", "oci://quay.io:99999/x:1".into(), vec!["is not a port number"]),
        ("underscore in the host", "oci://quay_io.example.com/x:1".into(), vec!["is not a registry host"]),
        ("host starting with a dash", "oci://-quay.io/x:1".into(), vec!["is not a registry host"]),
        ("inherit on an uppercase path", "oci://quay.io/RHDH/x:{{inherit}}".into(), vec!["uppercase"]),
        ("two digests", format!("oci://quay.io/rhdh/x@{DIGEST}@{DIGEST}"), vec![]),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, reference, extra)| (name.to_string(), package(&reference), finding("oci-reference", &extra)))
        .collect();
    report("references", run(cases));
}

#[test]
fn hostile_plugin_paths() {
    let cases = [
        ("parent folders", "!../../x", "contains `..`"),
        ("absolute", "!/etc/passwd", "absolute path"),
        ("empty component", "!a//b", "empty or `.` component"),
        ("dot component", "!./x", "empty or `.` component"),
        ("escape in the middle", "!x/../../y", "contains `..`"),
        ("shell substitution", "!$(touch${IFS}pwned-marker)", "a shell character"),
        ("backticks", "!`touch${IFS}pwned-marker`", "a shell character"),
        ("semicolon", "!x;touch${IFS}pwned-marker", "a shell character"),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, path, expected)| {
            let reference = format!("'oci://quay.io/rhdh/x:1{path}'");
            (name.to_string(), package(&reference), finding("plugin-path", &[expected]))
        })
        .collect();
    report("plugin paths", run(cases));
}

#[test]
fn hostile_integrity() {
    let entry = |integrity: &str| {
        format!("plugins:\n  - package: '@backstage/plugin-x@1.2.3'\n    integrity: {integrity}\n").into_bytes()
    };
    let cases = [
        ("md5", "md5-abc"),
        ("sha1", "sha1-YWJj"),
        ("colon instead of dash", "sha512:abc"),
        ("nothing after the dash", "sha512-"),
        ("space in the value", "'sha512-ab c'"),
        ("too much padding", "sha512-abc==="),
        ("uppercase algorithm", "SHA512-abc"),
        ("not base64", "sha512-abc!def"),
        ("two hashes", "'sha512-abc sha256-def'"),
        ("hex instead of base64", "sha512:0123456789abcdef"),
        ("NUL", "\"sha512-ab\\0c\""),
    ];
    let mut cases: Vec<(String, Vec<u8>, Expect)> = cases
        .into_iter()
        .map(|(name, integrity)| {
            (name.to_string(), entry(integrity), finding("integrity", &["is not `sha512-<base64>`"]))
        })
        .collect();
    cases.push((
        "missing".into(),
        package("'@backstage/plugin-x@1.2.3'"),
        finding("integrity", &["needs `integrity`"]),
    ));
    cases.push(("empty".into(), entry("''"), finding("integrity", &["needs `integrity`"])));
    report("integrity", run(cases));
}

#[test]
fn hostile_package_names() {
    let cases = [
        ("Cyrillic a in an npm scope", "'@b\u{0430}ckstage/plugin-x@1.0.0'", "U+0430"),
        ("Cyrillic e in a local path", "./dynamic-plugins/dist/t\u{0435}ch-radar", "U+0435"),
        ("zero-width joiner", "'@backstage/plugin\u{200D}-x@1.0.0'", "U+200D"),
        ("tab in a local path", "\"./dynamic-plugins/dist/a\\tb\"", "U+0009"),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, package_text, expected)| {
            let bytes = format!("plugins:\n  - package: {package_text}\n    integrity: sha512-{}==\n", "A".repeat(86))
                .into_bytes();
            (name.to_string(), bytes, finding("package-name", &[expected]))
        })
        .collect();
    report("package names", run(cases));
}

/// Bad input with the message at `line`.
fn bad(line: u64, fragments: &[&str]) -> Expect {
    let mut all = vec![format!("{FILE}:{line}:")];
    all.extend(fragments.iter().map(|fragment| (*fragment).to_string()));
    Expect { code: 2, fragments: all }
}

#[test]
fn hostile_booleans() {
    let entry = |line: &str| format!("plugins:\n  - package: ./dynamic-plugins/dist/a\n    {line}\n").into_bytes();
    let cases = [
        ("quoted false", "disabled: \"false\"", "is the string `false`, not a boolean", "write `disabled: false`"),
        ("quoted true", "disabled: 'true'", "is the string `true`, not a boolean", "write `disabled: true`"),
        ("yes", "disabled: yes", "a YAML 1.1 reader", "write `disabled: true`"),
        ("no", "disabled: no", "a YAML 1.1 reader", "write `disabled: false`"),
        ("on", "disabled: on", "a YAML 1.1 reader", "write `disabled: true`"),
        ("off", "disabled: off", "a YAML 1.1 reader", "write `disabled: false`"),
        ("y", "disabled: y", "a YAML 1.1 reader", "write `disabled: true`"),
        ("N", "disabled: N", "a YAML 1.1 reader", "write `disabled: false`"),
        ("a number", "disabled: 0", "expected a boolean (`true` or `false`), found a number", "write `disabled: true`"),
        ("a list", "disabled: [true]", "found a list", "or `disabled: false`"),
        ("a mapping", "disabled: {a: 1}", "found a mapping", "or `disabled: false`"),
        (
            "enabled as a string",
            "enabled: \"false\"",
            "`plugins[0].enabled` is the string `false`",
            "write `enabled: false`",
        ),
        (
            "forceDownload as yes",
            "forceDownload: yes",
            "`plugins[0].forceDownload` is the string `yes`",
            "write `forceDownload: true`",
        ),
        ("empty string", "disabled: ''", "is the string ``", "write `disabled: true`"),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, line, problem, fix)| (name.to_string(), entry(line), bad(3, &[problem, fix])))
        .collect();
    report("booleans", run(cases));
}

#[test]
fn hostile_keys() {
    let entry = |line: &str| format!("plugins:\n  - package: ./dynamic-plugins/dist/a\n    {line}\n").into_bytes();
    let mut cases: Vec<(String, Vec<u8>, Expect)> = [
        ("disable", "disable: true", "unknown key `disable` in `plugins[0]`", "did you mean `disabled`"),
        ("pluginconfig", "pluginconfig: {}", "unknown key `pluginconfig`", "did you mean `pluginConfig`"),
        ("integrety", "integrety: sha512-abc", "unknown key `integrety`", "did you mean `integrity`"),
        ("pullpolicy", "pullpolicy: Always", "unknown key `pullpolicy`", "did you mean `pullPolicy`"),
        ("force_download", "force_download: true", "unknown key `force_download`", "did you mean `forceDownload`"),
        ("enable", "enable: true", "unknown key `enable`", "did you mean `enabled`"),
        ("key with a trailing space", "'disabled ': true", "unknown key `disabled `", "did you mean `disabled`"),
        ("Cyrillic key", "dis\u{0430}bled: true", "unknown key `disU+0430bled`", "did you mean `disabled`"),
        ("number key", "1: x", "unknown key `1`", "the installer reads only"),
        ("unrelated key", "title: x", "unknown key `title`", "the installer reads only `package`"),
    ]
    .into_iter()
    .map(|(name, line, problem, fix)| (name.to_string(), entry(line), bad(3, &[problem, fix])))
    .collect();
    for (name, text, line, problem, fix) in [
        (
            "plugin",
            "plugin:\n  - package: ./a\n",
            1,
            "unknown key `plugin` in the top of the file",
            "did you mean `plugins`",
        ),
        ("include", "include: [a.yaml]\nplugins: []\n", 1, "unknown key `include`", "did you mean `includes`"),
        ("Plugins", "Plugins: []\n", 1, "unknown key `Plugins`", "did you mean `plugins`"),
        ("Package", "plugins:\n  - Package: ./a\n", 2, "unknown key `Package`", "did you mean `package`"),
        ("no plugins key", "includes: []\n", 1, "no `plugins:` key", "add `plugins:`"),
        (
            "anchors at the top",
            "base: &b {disabled: true}\nplugins: []\n",
            1,
            "unknown key `base`",
            "the installer reads only",
        ),
    ] {
        cases.push((name.to_string(), text.as_bytes().to_vec(), bad(line, &[problem, fix])));
    }
    report("keys", run(cases));
}

#[test]
fn hostile_types() {
    let cases: Vec<(&str, &str, u64, &str)> = vec![
        ("plugins a number", "plugins: 5\n", 1, "wrong type at `plugins`: expected a list, found a number"),
        ("plugins a string", "plugins: x\n", 1, "expected a list, found a string"),
        ("plugins a mapping", "plugins: {a: 1}\n", 1, "expected a list, found a mapping"),
        ("plugins null", "plugins:\n", 1, "expected a list, found nothing (null)"),
        ("plugins true", "plugins: true\n", 1, "expected a list, found a boolean"),
        (
            "entry a string",
            "plugins:\n  - ./a\n",
            2,
            "wrong type at `plugins[0]`: expected a mapping with `package:`, found a string",
        ),
        ("entry a list", "plugins:\n  - [./a]\n", 2, "found a list"),
        ("entry null", "plugins:\n  -\n", 2, "found nothing (null)"),
        (
            "package a number",
            "plugins:\n  - package: 7\n",
            2,
            "wrong type at `plugins[0].package`: expected a string, found a number",
        ),
        ("package a list", "plugins:\n  - package: [a]\n", 2, "expected a string, found a list"),
        ("package a mapping", "plugins:\n  - package: {a: b}\n", 2, "expected a string, found a mapping"),
        ("package a boolean", "plugins:\n  - package: true\n", 2, "expected a string, found a boolean"),
        ("package empty", "plugins:\n  - package: ''\n", 2, "`plugins[0].package` is empty"),
        ("package missing", "plugins:\n  - disabled: true\n", 2, "missing field `package` in `plugins[0]`"),
        (
            "pluginConfig a string",
            "plugins:\n  - package: ./a\n    pluginConfig: x\n",
            3,
            "wrong type at `plugins[0].pluginConfig`: expected a mapping, found a string",
        ),
        (
            "pluginConfig a list",
            "plugins:\n  - package: ./a\n    pluginConfig: [a]\n",
            3,
            "expected a mapping, found a list",
        ),
        (
            "pluginConfig a number",
            "plugins:\n  - package: ./a\n    pluginConfig: 7\n",
            3,
            "expected a mapping, found a number",
        ),
        (
            "integrity a number",
            "plugins:\n  - package: ./a\n    integrity: 7\n",
            3,
            "wrong type at `plugins[0].integrity`: expected a string, found a number",
        ),
        ("integrity a list", "plugins:\n  - package: ./a\n    integrity: [a]\n", 3, "expected a string, found a list"),
        (
            "pullPolicy unknown",
            "plugins:\n  - package: ./a\n    pullPolicy: Never\n",
            3,
            "`plugins[0].pullPolicy` is `Never`",
        ),
        (
            "pullPolicy a number",
            "plugins:\n  - package: ./a\n    pullPolicy: 1\n",
            3,
            "expected a string, found a number",
        ),
        (
            "includes a string",
            "includes: a.yaml\nplugins: []\n",
            1,
            "wrong type at `includes`: expected a list, found a string",
        ),
        ("includes of numbers", "includes: [1]\nplugins: []\n", 1, "an item is a number, expected a file name"),
        ("includes a mapping", "includes: {a: b}\nplugins: []\n", 1, "expected a list, found a mapping"),
        ("the file a list", "- package: ./a\n", 1, "the file holds a list, expected a mapping with `plugins:`"),
        ("the file a string", "just text\n", 1, "the file holds a string"),
        ("the file a number", "1.10\n", 1, "the file holds a number"),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, text, line, problem)| (name.to_string(), text.as_bytes().to_vec(), bad(line, &[problem])))
        .collect();
    report("types", run(cases));
}

#[test]
fn hostile_yaml() {
    let mut huge = b"plugins:\n  - package: ./a\n    pluginConfig:\n      x: '".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 17 * 1024 * 1024));
    huge.extend(b"'\n");
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "alias bomb",
            alias_bomb("plugins").into_bytes(),
            bad(6, &["too many aliases or nodes: the file would expand beyond 250000 nodes", "write the values out"]),
        ),
        (
            "alias bomb in pluginConfig",
            format!("{}plugins:\n  - package: ./a\n    pluginConfig: *a9\n", alias_bomb("x").replace("x: *a9\n", ""))
                .into_bytes(),
            Expect::bad_input(&[FILE, "too many aliases or nodes"]),
        ),
        (
            "10 000 levels of lists",
            deep_flow("plugins", 10_000).into_bytes(),
            bad(1, &["too deeply nested: more than 64 levels"]),
        ),
        (
            "10 000 levels in pluginConfig",
            format!(
                "plugins:\n  - package: ./a\n    pluginConfig: {{x: {}{}}}\n",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )
            .into_bytes(),
            bad(3, &["too deeply nested"]),
        ),
        ("100 levels of mappings", deep_block("plugins", 100).into_bytes(), Expect::bad_input(&[FILE, "invalid YAML"])),
        ("a file over 16 MiB", huge, Expect::bad_input(&[FILE, "larger than the 16777216 bytes"])),
        ("raw NUL byte", b"plugins:\n  - package: ./a\x00b\n".to_vec(), bad(2, &["U+0000"])),
        (
            "byte-order mark",
            b"\xef\xbb\xbfplugins:\n  - package: ./a\n".to_vec(),
            bad(1, &["byte-order mark (U+FEFF)", "without a byte-order mark"]),
        ),
        (
            "byte-order mark inside",
            "plugins:\n  - package: ./a\n\u{FEFF}  - package: ./b\n".as_bytes().to_vec(),
            bad(3, &["byte-order mark (U+FEFF) in the middle"]),
        ),
        (
            "CRLF with a duplicate key",
            b"plugins:\r\n  - package: ./a\r\n    package: ./b\r\n".to_vec(),
            bad(3, &["duplicate key `package`"]),
        ),
        (
            "CRLF with an unknown key",
            b"plugins:\r\n  - package: ./a\r\n    disable: true\r\n".to_vec(),
            bad(3, &["unknown key `disable`"]),
        ),
        (
            "tab indentation",
            b"plugins:\n\t- package: ./a\n".to_vec(),
            bad(2, &["a tab in the indentation", "indent YAML with spaces"]),
        ),
        (
            "tab inside an entry",
            b"plugins:\n  - package: ./a\n\t  disabled: true\n".to_vec(),
            bad(3, &["a tab in the indentation"]),
        ),
        (
            "duplicate key at depth",
            b"plugins:\n  - package: ./a\n    pluginConfig:\n      app:\n        title: a\n        title: b\n".to_vec(),
            bad(6, &["duplicate key `title`", "keep one `title:`"]),
        ),
        ("duplicate plugins key", b"plugins: []\nplugins: []\n".to_vec(), bad(2, &["duplicate key `plugins`"])),
        (
            "two documents",
            b"plugins: []\n---\nplugins: []\n".to_vec(),
            bad(3, &["more than one YAML document", "keep one document"]),
        ),
        ("empty file", Vec::new(), Expect::bad_input(&[FILE, "file is empty"])),
        ("only whitespace", b"  \n\n\t\n".to_vec(), Expect::bad_input(&[FILE, "file is empty"])),
        ("only comments", b"# plugins:\n#   - package: ./a\n".to_vec(), Expect::bad_input(&[FILE, "only comments"])),
        ("truncated list", b"plugins:\n  - package: [oci://x\n".to_vec(), bad(2, &["invalid YAML"])),
        ("unknown anchor", b"plugins: *nothing\n".to_vec(), bad(1, &["refers to no anchor"])),
        (
            "python tag",
            b"plugins:\n  - package: !!python/object/apply:os.system ['touch pwned-marker']\n".to_vec(),
            bad(2, &["the tag", "is not one every YAML reader knows"]),
        ),
        ("local tag", b"plugins:\n  - package: !shell ./a\n".to_vec(), bad(2, &["the tag `!shell`"])),
        ("not UTF-8", b"plugins:\n  - package: \xff\xfe\n".to_vec(), Expect::bad_input(&[FILE, "not valid UTF-8"])),
        (
            "NaN in pluginConfig",
            b"plugins:\n  - package: ./a\n    pluginConfig:\n      x: .nan\n".to_vec(),
            bad(4, &["is not a finite number"]),
        ),
    ];
    report("yaml", run(cases.into_iter().map(|(name, bytes, expect)| (name.to_string(), bytes, expect)).collect()));
}

#[test]
fn hostile_includes() {
    let results = [
        (
            "an include with an unknown key",
            "plugins:\n  - package: ./a\n    disable: true\n",
            "a.yaml:3:",
            "unknown key `disable`",
        ),
        ("an include with an alias bomb", "", "a.yaml:6:", "too many aliases or nodes"),
        ("an include without plugins", "includes: []\n", "a.yaml:1:", "no `plugins:` key"),
    ]
    .into_iter()
    .map(|(name, include, place, problem)| {
        let dir = tempfile::tempdir().unwrap();
        let include = if include.is_empty() { alias_bomb("plugins") } else { include.to_string() };
        write_files(
            dir.path(),
            &[(FILE, b"includes: [a.yaml]\nplugins: []\n".to_vec()), ("a.yaml", include.into_bytes())],
        );
        check(
            name,
            dir.path(),
            &["validate".into(), FILE.into(), "--no-registry".into()],
            &Expect::bad_input(&[place, problem]),
        )
    })
    .collect();
    report("includes", results);
}
