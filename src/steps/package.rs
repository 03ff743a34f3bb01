//! `rhdh-catalog package`: the dynamic-plugin image from exported `dist-dynamic` folders, built
//! without a container engine and pushed to a registry or an OCI layout directory. The layout is
//! the one `rhdh-cli plugin package` produces: one folder per plugin plus `index.json`, and the
//! manifest annotation `io.backstage.dynamic-packages` (base64 of the same JSON) that lets the
//! installer find the plugin path. The same folders always give the same digest.

use anyhow::Context;

use crate::cli::{OutputFormat, PackageArgs};
use crate::error::{ExitStatus, InputError};
use crate::io::registry::ImageReference;
use crate::io::registry::image::{build_image, push_image};
use crate::io::registry::plugin_image::plugin_image_spec;

pub async fn run(args: PackageArgs) -> anyhow::Result<ExitStatus> {
    let reference =
        ImageReference::parse(&args.tag).map_err(|problem| InputError::usage(format!("--tag {problem}")))?;
    if reference.tag.is_none() || reference.digest.is_some() {
        return Err(InputError::usage(format!("--tag `{}` must name a tag and no digest", args.tag)).into());
    }
    let spec = plugin_image_spec(&args.dist_dynamic, &args.labels, &args.annotations, &args.env)?;
    let image = build_image(&spec).context("building the image layer")?;
    let store = args.store.open()?;
    let digest = push_image(&store, &reference, &image).await?;
    let pinned = reference.pinned(&digest);
    tracing::info!(image = %reference, %digest, store = %store.describe(), "pushed");
    match args.output_format {
        OutputFormat::Text => println!("{pinned}"),
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"reference": reference.to_string(), "digest": digest.to_string(), "pinned": pinned})
        ),
    }
    Ok(ExitStatus::Success)
}
