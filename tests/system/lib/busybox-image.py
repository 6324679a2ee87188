#!/usr/bin/env python3
"""Build test image archives offline from a busybox rootfs directory.

usage: busybox-image.py ROOTFS OUTDIR [NAME]

Writes into OUTDIR:
  docker.tar  a docker-archive (`docker save` layout: manifest.json with
              Config, RepoTags and Layers, uncompressed layer tars)
  oci.tar     an OCI image layout (oci-layout, index.json -> image index
              -> linux/amd64 manifest, gzip layers, an arm64 decoy entry)
  layout/     the OCI layout unpacked (for skopeo/registry tests)
  oci-zstd.tar, layout-zstd/  when the zstd program exists: the same
              image as a plain OCI layout (no index) with zstd layers
The image has two layers: the rootfs (plus /etc/motd, /opt/a/x, /opt/keep)
and a second one that deletes /etc/motd (whiteout), replaces /opt/a
(opaque directory, new file y) and adds /etc/layer2.  Config: Cmd
["/bin/sh"], Env, WorkingDir /, ExposedPorts 80/tcp.  NAME defaults to
busybox:latest.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

rootfs, out = sys.argv[1], sys.argv[2]
name = sys.argv[3] if len(sys.argv) > 3 else "busybox:latest"
os.makedirs(out, exist_ok=True)
MTIME = 1700000000


def info(path, kind, size=0, mode=0o644, link=""):
    ti = tarfile.TarInfo(path)
    ti.type, ti.size, ti.mode, ti.mtime, ti.linkname = kind, size, mode, MTIME, link
    ti.uid = ti.gid = 0
    return ti


def layer(entries):
    """entries: (path, kind, data_or_link, mode); returns tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, kind, data, mode in entries:
            if kind == tarfile.REGTYPE:
                t.addfile(info(path, kind, len(data), mode), io.BytesIO(data))
            else:
                t.addfile(info(path, kind, 0, mode, data or ""))
    return buf.getvalue()


def rootfs_entries():
    ents = []
    for d, dirs, files in os.walk(rootfs):
        dirs.sort()
        rel = os.path.relpath(d, rootfs)
        if rel != ".":
            ents.append((rel, tarfile.DIRTYPE, None, os.stat(d).st_mode & 0o7777))
        for f in sorted(files) + sorted(x for x in dirs if os.path.islink(os.path.join(d, x))):
            p = os.path.join(d, f)
            r = os.path.normpath(os.path.join(rel, f))
            if r == ".done":
                continue
            if os.path.islink(p):
                ents.append((r, tarfile.SYMTYPE, os.readlink(p), 0o777))
            elif os.path.isfile(p):
                with open(p, "rb") as fh:
                    ents.append((r, tarfile.REGTYPE, fh.read(), os.stat(p).st_mode & 0o7777))
    ents += [("etc/motd", tarfile.REGTYPE, b"layer one\n", 0o644),
             ("opt", tarfile.DIRTYPE, None, 0o755),
             ("opt/a", tarfile.DIRTYPE, None, 0o755),
             ("opt/a/x", tarfile.REGTYPE, b"x\n", 0o644),
             ("opt/keep", tarfile.REGTYPE, b"keep\n", 0o644)]
    return ents


l1 = layer(rootfs_entries())
l2 = layer([("etc", tarfile.DIRTYPE, None, 0o755),
            ("etc/.wh.motd", tarfile.REGTYPE, b"", 0o644),
            ("etc/layer2", tarfile.REGTYPE, b"layer two\n", 0o644),
            ("opt/a", tarfile.DIRTYPE, None, 0o755),
            ("opt/a/.wh..wh..opq", tarfile.REGTYPE, b"", 0o644),
            ("opt/a/y", tarfile.REGTYPE, b"y\n", 0o644)])
layers = [l1, l2]
sha = lambda b: hashlib.sha256(b).hexdigest()
config = {
    "created": "2024-01-02T03:04:05Z",
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["/bin/sh"], "WorkingDir": "/",
               "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "IMAGE_VAR=from-image"],
               "ExposedPorts": {"80/tcp": {}}},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(x) for x in layers]},
    "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "busybox-image.py"}],
}
cfg = json.dumps(config).encode()


def add_bytes(t, path, data, mode=0o644):
    t.addfile(info(path, tarfile.REGTYPE, len(data), mode), io.BytesIO(data))


# docker-archive
with tarfile.open(os.path.join(out, "docker.tar"), "w", format=tarfile.PAX_FORMAT) as t:
    add_bytes(t, sha(cfg) + ".json", cfg)
    paths = []
    for x in layers:
        p = sha(x) + "/layer.tar"
        t.addfile(info(sha(x), tarfile.DIRTYPE, 0, 0o755))
        add_bytes(t, p, x)
        paths.append(p)
    add_bytes(t, "manifest.json", json.dumps(
        [{"Config": sha(cfg) + ".json", "RepoTags": [name], "Layers": paths}]).encode())

# OCI layout (gzip layers, an index with a decoy arm64 image)
blobs = {}


def blob(b):
    blobs[sha(b)] = b
    return {"digest": "sha256:" + sha(b), "size": len(b)}


gz = [gzip.compress(x, mtime=0) for x in layers]
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
       "layers": [dict(blob(g), mediaType="application/vnd.oci.image.layer.v1.tar+gzip") for g in gz]}
manb = json.dumps(man).encode()
# A valid arm64 image without layers: pushable with `skopeo copy --all`,
# never to be picked on this host.
dcfg = json.dumps({"architecture": "arm64", "os": "linux", "config": {"Cmd": ["/wrong-arch"]},
                   "rootfs": {"type": "layers", "diff_ids": []}}).encode()
decoy = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": dict(blob(dcfg), mediaType="application/vnd.oci.image.config.v1+json"),
                    "layers": []}).encode()
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": [dict(blob(decoy), mediaType="application/vnd.oci.image.manifest.v1+json",
                          platform={"architecture": "arm64", "os": "linux"}),
                     dict(blob(manb), mediaType="application/vnd.oci.image.manifest.v1+json",
                          platform={"architecture": "amd64", "os": "linux"})]}
idxb = json.dumps(idx).encode()
top = {"schemaVersion": 2, "manifests": [dict(blob(idxb), mediaType="application/vnd.oci.image.index.v1+json",
                                              annotations={"org.opencontainers.image.ref.name": name})]}
def write_layout(tarname, dirname, top):
    layout = os.path.join(out, dirname)
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps(top).encode()}
    for k, v in blobs.items():
        files["blobs/sha256/" + k] = v
    with tarfile.open(os.path.join(out, tarname), "w", format=tarfile.PAX_FORMAT) as t:
        for d in ("blobs", "blobs/sha256"):
            t.addfile(info(d, tarfile.DIRTYPE, 0, 0o755))
        for p, v in sorted(files.items()):
            add_bytes(t, p, v)
            with open(os.path.join(layout, p), "wb") as fh:
                fh.write(v)


write_layout("oci.tar", "layout", top)

if shutil.which("zstd"):
    blobs = {}
    zs = [subprocess.run(["zstd", "-q", "-c"], input=x, stdout=subprocess.PIPE,
                         check=True).stdout for x in layers]
    zman = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(blob(z), mediaType="application/vnd.oci.image.layer.v1.tar+zstd")
                       for z in zs]}
    zmanb = json.dumps(zman).encode()
    ztop = {"schemaVersion": 2,
            "manifests": [dict(blob(zmanb), mediaType="application/vnd.oci.image.manifest.v1+json",
                               annotations={"org.opencontainers.image.ref.name": name})]}
    write_layout("oci-zstd.tar", "layout-zstd", ztop)
print(sha(cfg))
