#!/usr/bin/env python3
"""Write an OCI config.json like `runc spec` makes (runtime-spec 1.1
defaults: mounts, masked/readonly paths, namespaces), for container tests.

usage: oci-config.py OUT [--hostname H] [--memory BYTES] [--pids N]
       [--cpu-quota US] [--terminal] [--bind SRC:DEST[:ro]] [--set JSON]
       -- ARGS...
--set merges a JSON object into the document (top-level keys replaced).
"""
import json
import sys

args = sys.argv[1:]
out = args.pop(0)
cfg = {
    "ociVersion": "1.1.0",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                         for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": False},
    "hostname": "ringvm-test",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                     "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ],
    "linux": {
        "resources": {},
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "ipc", "uts", "mount", "cgroup")],
        "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore",
                        "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                        "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"],
    },
}
res = cfg["linux"]["resources"]
while args:
    a = args.pop(0)
    if a == "--":
        cfg["process"]["args"] = args
        break
    if a == "--hostname":
        cfg["hostname"] = args.pop(0)
    elif a == "--memory":
        res["memory"] = {"limit": int(args.pop(0))}
    elif a == "--pids":
        res["pids"] = {"limit": int(args.pop(0))}
    elif a == "--cpu-quota":
        res["cpu"] = {"quota": int(args.pop(0)), "period": 100000}
    elif a == "--terminal":
        cfg["process"]["terminal"] = True
    elif a == "--bind":
        p = args.pop(0).split(":")
        m = {"destination": p[1], "type": "bind", "source": p[0],
             "options": ["rbind"] + (["ro"] if len(p) > 2 else [])}
        cfg["mounts"].append(m)
    elif a == "--set":
        cfg.update(json.loads(args.pop(0)))
    else:
        sys.exit("oci-config.py: unknown option " + a)
with open(out, "w") as f:
    json.dump(cfg, f, indent=1)
