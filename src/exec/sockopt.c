/* Which socket options a sandboxed program may set or get: the policy
 * both ringvm exec engines share (sys_net.c for riscv64, kvm_net.c for
 * the KVM sandbox).  Levels and option numbers are asm-generic's, the
 * same on riscv64 and x86-64. */
#include "exec_int.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* May the program use this option?  A value holding a pointer would make
 * the host kernel use a guest address in the VMM's address space
 * (netfilter's table replacement, TCP_ZEROCOPY_RECEIVE's buffers, XDP's
 * umem, PACKET_FANOUT_DATA's filter...), and the multicast source-filter
 * reads write as many entries as the value asks for, past optlen.  So
 * only these levels pass, minus those; any other level (packet, XDP,
 * SCTP, MPTCP, bluetooth...) is ENOPROTOOPT, as for a protocol without
 * it, and an option added to the kernel later cannot slip a pointer
 * through. */
bool exec_sockopt_ok(int level, int name, bool set)
{
	switch (level) {
	case SOL_SOCKET: case IPPROTO_UDP: case IPPROTO_ICMPV6: case SOL_RAW:
	case SOL_NETLINK: case SOL_ALG: case SOL_TLS:
		return true;
	case IPPROTO_TCP:
		return name != TCP_ZEROCOPY_RECEIVE;
	case IPPROTO_IP:
		/* 64..: ip/arp/ebtables, IPVS; 80 is SO_ORIGINAL_DST, 200..
		 * multicast routing (plain structures) */
		if (!set && (name == IP_MSFILTER || name == MCAST_MSFILTER))
			return false;
		return name < 64 || name == 80 || (name >= 200 && name < 256);
	case IPPROTO_IPV6:
		/* 64..69: ip6tables */
		if (!set && name == MCAST_MSFILTER)
			return false;
		return name < 64 || name > 69;
	default:
		return false;
	}
}
