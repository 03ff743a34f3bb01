#!/usr/bin/env bash
# Regenerates the README.md of every Task (tekton/task/<name>/<version>/) and Pipeline
# (tekton/pipeline/<name>/<version>/) from its YAML, in the layout of Konflux build-definitions:
# "# <name> task|pipeline", the description, a Parameters table (name, description, default value,
# required), a Results table and, when declared, a Workspaces table. Everything from the README's
# "## Additional info" heading to its end is kept as written; a README without one gets an empty
# section.
#
# The renderer is the integration test that checks the READMEs are current
# (tests/konflux_rules.rs, readmes_are_generated_from_the_yaml: it renders into a temporary folder
# and compares); with RHDH_CATALOG_WRITE_READMES set it writes the READMEs instead. So this needs
# only the Rust toolchain the rest of the project needs.
set -euo pipefail
cd "$(dirname "$0")/.."
RHDH_CATALOG_WRITE_READMES=1 cargo test --quiet --test integration -- --exact \
  konflux_rules::readmes_are_generated_from_the_yaml
git status --short -- tekton/
