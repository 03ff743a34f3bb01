#!/usr/bin/env python3
"""Synthesise a catalog at real scale (or N times it) for benchmarks.

From a real overlay tree (default: tests/data/reference-data/overlays-main) it writes, under OUT:
  upstreams/<repo>/   one local git repository per upstream repository the overlay names, holding a
                      small package.json + src/index.ts for every plugins-list path of every
                      workspace that uses it (monorepo layout under workspaces/<ws>/, or flat);
  overlay/            a git repository: the overlay with source.json pointing at those local
                      repositories (file://, pinned to their commit), workspaces replicated SCALE
                      times (`<ws>`, `<ws>-r2`, ...), one generated Package metadata file per
                      plugins-list entry (so every name is unique across replicas), every plugin
                      in the supported list, an empty default.packages.yaml, no community list or
                      catalog entities (they name the real packages), and no patches/ (they are written
                      against the real sources);
  midstream/          a midstream git repository (examples/midstream: the Containerfiles) whose
                      upstream_repos.yml fetches the overlay,
                      with a bare remote midstream.git/ that `sync` pushes to.
Prints a one-line JSON summary. Needs git and Python 3.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ENV = dict(os.environ, GIT_AUTHOR_NAME="synth", GIT_AUTHOR_EMAIL="synth@example.test",
           GIT_COMMITTER_NAME="synth", GIT_COMMITTER_EMAIL="synth@example.test",
           GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True, env=ENV).stdout.strip()


def init_repo(path):
    os.makedirs(path, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "uploadpack.allowFilter", "true")
    git(path, "config", "uploadpack.allowReachableSHA1InWant", "true")


def commit_all(path):
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "synthetic content")
    return git(path, "rev-parse", "HEAD")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def plugin_paths(workspace_dir):
    paths = []
    try:
        with open(os.path.join(workspace_dir, "plugins-list.yaml")) as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and ":" in line:
                    paths.append(line.split(":", 1)[0].strip())
    except FileNotFoundError:
        pass
    return paths


def path_slug(path):
    return path.strip("/").replace("/", "-")


def package_name(workspace, path):
    return f"@synth/{workspace}-{path_slug(path)}"


def role_of(path):
    return "backend-plugin" if "backend" in path.rstrip("/").split("/")[-1] else "frontend-plugin"


def package_entity(workspace, path):
    """A Package metadata file for one plugins-list entry; its name ends with the folder name."""
    name = package_name(workspace, path)
    return (
        "apiVersion: extensions.backstage.io/v1alpha1\n"
        "kind: Package\n"
        "metadata:\n"
        f"  name: synth-{workspace}-{path_slug(path)}\n"
        "  namespace: rhdh\n"
        f"  title: {workspace} {path}\n"
        "spec:\n"
        f"  packageName: '{name}'\n"
        f"  dynamicArtifact: ./dynamic-plugins/dist/{name[1:].replace('/', '-')}\n"
        "  version: 1.0.0\n"
        "  backstage:\n"
        f"    role: {role_of(path)}\n"
        "    supportedVersions: 1.52.0\n"
        "  author: Synthetic\n"
        "  support: tech-preview\n"
        "  lifecycle: active\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="tests/data/reference-data/overlays-main")
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--midstream-template", default="examples/midstream",
                        help="files copied into the midstream repository (the Containerfiles)")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    source_workspaces = os.path.join(args.source, "workspaces")

    # Workspaces with their source.json, replicated.
    workspaces = []
    for name in sorted(os.listdir(source_workspaces)):
        directory = os.path.join(source_workspaces, name)
        source_path = os.path.join(directory, "source.json")
        if not os.path.isfile(source_path):
            continue
        with open(source_path) as handle:
            source = json.load(handle)
        for copy in range(1, args.scale + 1):
            workspaces.append((name, name if copy == 1 else f"{name}-r{copy}", source, directory))

    # One upstream repository per upstream URL.
    repos = {}
    for original, name, source, directory in workspaces:
        slug = source["repo"].rstrip("/").split("github.com/")[-1].replace("/", "__")
        if source["repo-flat"] and name != original:
            # A flat repository holds one copy of its plugins at fixed paths: each replica of a
            # flat workspace gets its own repository.
            slug += "__" + name[len(original) + 1:]
        repos.setdefault(slug, []).append((original, name, source, directory))
    commits = {}
    for slug, members in repos.items():
        repo = os.path.join(out, "upstreams", slug)
        init_repo(repo)
        flat_paths = set()
        for original, name, source, directory in members:
            root = repo if source["repo-flat"] else os.path.join(repo, "workspaces", name)
            paths = plugin_paths(directory)
            if source["repo-flat"]:
                flat_paths.update(paths)
            else:
                write(os.path.join(root, "package.json"), json.dumps({"name": f"@internal/{name}", "private": True, "workspaces": paths}, indent=2) + "\n")
            for path in paths:
                package = {"name": package_name(name, path), "version": "1.0.0", "backstage": {"role": role_of(path)}}
                write(os.path.join(root, path, "package.json"), json.dumps(package, indent=2) + "\n")
                write(os.path.join(root, path, "src", "index.ts"), f"export const plugin = '{name}/{path}';\n")
        if flat_paths:
            write(os.path.join(repo, "package.json"), json.dumps({"name": "flat-root", "private": True, "workspaces": sorted(flat_paths)}, indent=2) + "\n")
        commits[slug] = commit_all(repo)

    # The overlay repository.
    overlay = os.path.join(out, "overlay")
    shutil.copytree(args.source, overlay, ignore=shutil.ignore_patterns(
        "workspaces", "catalog-entities", "default.packages.yaml", "rhdh-community-packages.txt"))
    supported = []
    for slug, members in repos.items():
        for original, name, source, directory in members:
            target = os.path.join(overlay, "workspaces", name)
            shutil.copytree(directory, target, ignore=shutil.ignore_patterns("patches", "metadata"))
            pinned = dict(source, **{"repo": "file://" + os.path.join(out, "upstreams", slug), "repo-ref": commits[slug]})
            write(os.path.join(target, "source.json"), json.dumps(pinned) + "\n")
            for path in plugin_paths(directory):
                entity = package_entity(name, path)
                write(os.path.join(target, "metadata", f"synth-{name}-{path_slug(path)}.yaml"), entity)
                supported.append(f"{name}/{path}")
    write(os.path.join(overlay, "rhdh-supported-packages.txt"), "\n".join(sorted(supported)) + "\n")
    # An empty default list of its own: without one, index would read it from the RHDH repository
    # on github.com (as for an old branch), which a benchmark must not depend on.
    write(os.path.join(overlay, "default.packages.yaml"), "packages:\n  enabled: []\n  disabled: []\n")
    init_repo(overlay)
    commit_all(overlay)

    midstream = os.path.join(out, "midstream")
    write(os.path.join(midstream, "upstream_repos.yml"),
          "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.52.0\nrepos:\n"
          f"  - repo: file://{overlay}\n    branch: main\n    destination_folder: overlay-repo\n")
    remote = os.path.join(out, "midstream.git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True, env=ENV)
    shutil.copytree(args.midstream_template, midstream, dirs_exist_ok=True)
    init_repo(midstream)
    commit_all(midstream)
    git(midstream, "remote", "add", "origin", remote)
    git(midstream, "push", "-q", "origin", "main")
    print(json.dumps({"workspaces": len(workspaces), "plugins": len(supported), "upstream_repositories": len(repos), "out": out}))


if __name__ == "__main__":
    sys.exit(main())
