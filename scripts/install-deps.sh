#!/bin/sh
# Install the Debian packages ringvm needs to build and test, only if missing.
#   scripts/install-deps.sh [--debian] [--registry]
# --debian adds what `make debian` (guest/debian-image.sh) needs: mmdebstrap
# and qemu-user-static with binfmt-support, which run the riscv64 maintainer
# scripts.  --registry adds docker-registry and skopeo for
# tests/system/container-pull.sh (which SKIPs without them; on a systemd
# host the package also enables a registry service on port 5000).
set -e
PKGS="gcc make pkg-config libfdt-dev zlib1g-dev libzstd-dev libcmocka-dev gcc-riscv64-linux-gnu
      qemu-system-misc opensbi qemu-utils e2fsprogs cpio kmod xz-utils gzip
      ca-certificates debian-archive-keyring device-tree-compiler python3
      libslirp-dev libjson-c-dev clang libcap-dev libseccomp-dev fdisk libssl-dev
      libcurl4-openssl-dev
      openssh-client"
for a in "$@"; do
	case $a in
	--debian) PKGS="$PKGS mmdebstrap qemu-user-static binfmt-support" ;;
	--registry) PKGS="$PKGS docker-registry skopeo" ;;
	esac
done
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "ringvm: installing build dependencies:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
