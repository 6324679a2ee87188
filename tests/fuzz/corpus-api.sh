#!/bin/sh
# Seed corpus for fuzz_api: request lines of every command, with and
# without arguments, and a few broken ones.
set -e
out=$1
n=0
seed() { n=$((n + 1)); printf '%s\n' "$1" >"$out/seed-$n"; }
seed '{"id":1,"cmd":"status"}'
seed '{"id":"a","cmd":"pause"}
{"id":"b","cmd":"resume"}'
seed '{"cmd":"events"}
{"cmd":"pause"}
{"cmd":"resume"}'
seed '{"id":2,"cmd":"stop","args":{"timeout":0.5}}'
seed '{"id":3,"cmd":"quit"}'
seed '{"id":4,"cmd":"snapshot","args":{"dir":"/tmp/s","diff":true,"no_disk_state":false}}'
seed '{"id":5,"cmd":"migrate","args":{"uri":"tcp:127.0.0.1:4444","max_downtime_ms":30,"copy_disks":true}}'
seed '{"id":6,"cmd":"migrate-status"}
{"id":7,"cmd":"migrate-cancel"}'
seed '{"id":[1,{"x":null}],"cmd":"status","args":null}'
seed '{"cmd":"status"'
seed '{"cmd":"nope"}'
seed '{"cmd":"snapshot","args":{"dir":"a\u0000b"}}'
