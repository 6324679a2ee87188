#!/bin/sh
# Seed corpus for fuzz_oci_config: runc-spec-like configs from the test
# generator, with and without resources, seccomp and odd fields.
set -e
out=$1
gen=$(dirname "$0")/../system/lib/oci-config.py
"$gen" "$out/default.json" -- /bin/sh
"$gen" "$out/limits.json" --memory 33554432 --pids 32 --cpu-quota 20000 --hostname h -- /bin/true
"$gen" "$out/bind.json" --bind /srv:/data:ro --terminal -- sh -c 'echo hi'
"$gen" "$out/seccomp.json" --set '{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}, {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}]}, "cgroupsPath": "machine.slice:libpod:x"}, "annotations": {"a": "b"}}'
"$gen" "$out/caps.json" --set '{"process": {"args": ["x"], "user": {"uid": 1, "gid": 2, "additionalGids": [3]}, "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}], "capabilities": {"bounding": ["CAP_KILL"], "ambient": ["CAP_KILL"]}}}'
"$gen" "$out/sysctl.json" --set '{"process": {"args": ["x"], "oomScoreAdj": -500}, "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "network"}, {"type": "uts"}], "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "65536", "fs.mqueue.msg_max": "10", "kernel.domainname": "d"}}}'
