/* The KVM sandbox's memory calls: guest memory is all there from the
 * start (kvm_int.h), so mmap, munmap and brk place ranges (a page bitmap
 * over the mmap area), fill file mappings and give pages back to the
 * host (they read as zeros next time); what the program may do with a
 * page (mapped or not, its protection) is in the page tables, which
 * kvm_pt.c changes. */
#include "kvm_int.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PROT_SEM
#define PROT_SEM 0x8   /* uapi asm-generic/mman-common.h; glibc lacks it */
#endif

static bool bit(struct kx *k, uint64_t pg)
{
	return k->bitmap[pg / 8] & (1u << (pg % 8));
}

void kx_mark(struct kx *k, uint64_t va, uint64_t len, bool used)
{
	for (uint64_t a = va; a < va + len; a += KX_PAGE) {
		if (a < k->mmap_lo || a >= k->mmap_hi)
			continue;
		uint64_t pg = (a - k->mmap_lo) / KX_PAGE;
		if (used)
			k->bitmap[pg / 8] |= (uint8_t)(1u << (pg % 8));
		else
			k->bitmap[pg / 8] &= (uint8_t)~(1u << (pg % 8));
	}
}

/* Is any page of [va, va+len) in use?  (The mmap area's own pages by
 * its bitmap; the program, brk heap and stack always are.) */
static bool kx_used(struct kx *k, uint64_t va, uint64_t len)
{
	for (uint64_t a = va; a < va + len; a += KX_PAGE) {
		if (a < k->mmap_lo || a >= k->mmap_hi)
			return true;
		if (bit(k, (a - k->mmap_lo) / KX_PAGE))
			return true;
	}
	return false;
}

/* Highest free run of n pages in the mmap area (top-down like Linux). */
uint64_t kx_find_free(struct kx *k, uint64_t n)
{
	uint64_t total = (k->mmap_hi - k->mmap_lo) / KX_PAGE, run = 0;
	for (uint64_t pg = total; pg-- > 0;) {
		run = bit(k, pg) ? 0 : run + 1;
		if (run == n)
			return k->mmap_lo + pg * KX_PAGE;
	}
	return 0;
}

/* Fresh zero pages: the host drops them (MMU notifiers keep the guest's
 * view in step). */
void kx_zero(struct kx *k, uint64_t va, uint64_t len)
{
	madvise(k->mem + va, len, MADV_DONTNEED);
}

/* ---- MAP_SHARED file mappings ---- */

/* Anonymous private memory again under [va, va+len), where a shared file
 * mapping was: the host mapping is replaced (MAP_FIXED), the list of
 * shared ranges trimmed.  -ENOMEM when a split finds the list full. */
static int drop_shared(struct kx *k, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	for (unsigned i = 0; i < k->nshared;) {
		struct kx_shared *s = &k->shared[i];
		uint64_t lo = s->va > va ? s->va : va;
		uint64_t hi = s->va + s->len < end ? s->va + s->len : end;
		if (lo >= hi) {
			i++;
			continue;
		}
		bool split = s->va < lo && s->va + s->len > hi;
		if (split && k->nshared == KX_MAX_SHARED)
			return -ENOMEM;
		if (mmap(k->mem + lo, hi - lo, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			return -errno;
		if (split) {
			k->shared[k->nshared++] = (struct kx_shared){
				hi, s->va + s->len - hi, s->w };
			s->len = lo - s->va;
			i++;
		} else if (s->va < lo) {
			s->len = lo - s->va;
			i++;
		} else if (s->va + s->len > hi) {
			s->len = s->va + s->len - hi;
			s->va = hi;
			i++;
		} else {
			*s = k->shared[--k->nshared];
		}
	}
	return 0;
}

/* Does [va, va+len) touch a shared file mapping (read-only ones only
 * when ro_only)? */
static bool shared_in(const struct kx *k, uint64_t va, uint64_t len,
		      bool ro_only)
{
	for (unsigned i = 0; i < k->nshared; i++) {
		const struct kx_shared *s = &k->shared[i];
		if (s->va < va + len && va < s->va + s->len && (!ro_only || !s->w))
			return true;
	}
	return false;
}

long kx_msync(struct kx *k, uint64_t va, uint64_t len, int flags)
{
	if ((va & (KX_PAGE - 1)) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	len = (len + KX_PAGE - 1) & ~(KX_PAGE - 1);
	if (!kx_ok(k, va, len ? len : 1))
		return -ENOMEM;
	for (unsigned i = 0; i < k->nshared; i++) {
		const struct kx_shared *s = &k->shared[i];
		uint64_t lo = s->va > va ? s->va : va;
		uint64_t hi = s->va + s->len < va + len ? s->va + s->len : va + len;
		if (lo < hi && msync(k->mem + lo, hi - lo, flags))
			return -errno;
	}
	return 0;
}

/* A shared file mapping at checked [va, va+len): the file's pages
 * themselves (host MAP_SHARED over guest memory: KVM follows through its
 * MMU notifier), so stores reach the file and other processes' mappings
 * as natively. */
static long share(struct kx *k, uint64_t va, uint64_t len, int fd,
		  uint64_t off, int prot)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -EBADF;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	bool w = (fl & O_ACCMODE) == O_RDWR;
	if ((prot & PROT_WRITE) && !w)
		return -EACCES;
	if (k->nshared == KX_MAX_SHARED)
		return -ENOMEM;
	if (mmap(k->mem + va, len, PROT_READ | (w ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, fd, (off_t)off) == MAP_FAILED)
		return -errno;
	k->shared[k->nshared++] = (struct kx_shared){ va, len, w };
	return 0;
}

/* Undo a mapping that could not be filled: nothing there any more. */
static void unmap(struct kx_cpu *c, uint64_t va, uint64_t len)
{
	struct kx *k = c->k;
	kx_mark(k, va, len, false);
	(void)kx_pt_set(&k->pt, va, len, 0, kx_edits(c));
}

long kx_mmap(struct kx_cpu *c, const uint64_t *a)
{
	struct kx *k = c->k;
	uint64_t addr = a[0], len = a[1], flags = a[3], off = a[5];
	int prot = (int)a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC);
	int fd = (int)a[4];
	if (!len || (addr & (KX_PAGE - 1)) || (off & (KX_PAGE - 1)))
		return -EINVAL;
	if (len > k->size)
		return -ENOMEM;
	len = (len + KX_PAGE - 1) & ~(KX_PAGE - 1);
	if (!(flags & MAP_ANONYMOUS)) {
		if (kx_internal_fd(k, fd))
			return -EBADF;
		struct stat st;
		if (fstat(fd, &st))
			return -errno;
	}
	bool shared = (flags & MAP_TYPE) == MAP_SHARED ||
		      (flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
	bool shared_file = shared && !(flags & MAP_ANONYMOUS);
	/* Shared anonymous memory is a memfd's pages, so a forked child
	 * shares it as natively. */
	int memfd = -1;
	if (shared && (flags & MAP_ANONYMOUS)) {
		memfd = memfd_create("ringvm-shared", MFD_CLOEXEC);
		if (memfd < 0)
			return -errno;
		if (ftruncate(memfd, (off_t)len)) {
			close(memfd);
			return -ENOMEM;
		}
		shared_file = true;
		fd = memfd;
		off = 0;
	}
	uint64_t va;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (!kx_ok(k, addr, len))
			return -ENOMEM;
		if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) &&
		    kx_used(k, addr, len))
			return -EEXIST;
		va = addr;
	} else {
		va = kx_find_free(k, len / KX_PAGE);
		if (!va)
			return -ENOMEM;
	}
	/* The pages' entries first: it is what can fail (the edit page
	 * full), before anything of an old mapping there is lost. */
	int r = kx_pt_set(&k->pt, va, len, kx_pt_flags(prot), kx_edits(c));
	if (r) {
		if (memfd >= 0)
			close(memfd);
		return r;
	}
	kx_mark(k, va, len, true);
	if ((r = drop_shared(k, va, len))) {
		unmap(c, va, len);
		if (memfd >= 0)
			close(memfd);
		return r;
	}
	kx_zero(k, va, len);
	if (shared_file) {
		long e = share(k, va, len, fd, off, prot);
		if (memfd >= 0)
			close(memfd);    /* the mapping keeps the memory */
		if (e) {
			unmap(c, va, len);
			return e;
		}
	} else if (!(flags & MAP_ANONYMOUS)) {
		uint64_t got = 0;
		while (got < len) {
			ssize_t n = pread(fd, k->mem + va + got, len - got,
					  (off_t)(off + got));
			if (n < 0) {
				r = -errno;
				unmap(c, va, len);
				return r;
			}
			if (!n)
				break;
			got += (uint64_t)n;
		}
	}
	return (long)va;
}

long kx_munmap(struct kx_cpu *c, uint64_t va, uint64_t len)
{
	struct kx *k = c->k;
	if ((va & (KX_PAGE - 1)) || !len || len > k->size)
		return -EINVAL;
	len = (len + KX_PAGE - 1) & ~(KX_PAGE - 1);
	if (!kx_ok(k, va, len))
		return -EINVAL;
	int r = kx_pt_set(&k->pt, va, len, 0, kx_edits(c));
	if (r)
		return r;
	if ((r = drop_shared(k, va, len)))
		return r;
	if (va >= k->mmap_lo && va + len <= k->mmap_hi) {
		kx_mark(k, va, len, false);
		kx_zero(k, va, len);
	}
	return 0;
}

/* As Linux's mprotect: EINVAL for an unaligned start or unknown bits,
 * ENOMEM when a page of the range is not mapped (or the range wraps);
 * PROT_GROWSDOWN reaches down to the stack's start. */
long kx_mprotect(struct kx_cpu *c, uint64_t va, uint64_t len, uint64_t prot)
{
	struct kx *k = c->k;
	uint64_t grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	prot &= ~grows;
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP) || (va & (KX_PAGE - 1)))
		return -EINVAL;
	if (!len)
		return 0;
	len = (len + KX_PAGE - 1) & ~(KX_PAGE - 1);
	if (!len || va + len <= va)
		return -ENOMEM;
	if (prot & ~(uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;
	if (grows == PROT_GROWSUP)
		return -EINVAL;   /* x86 has no grows-up mappings */
	if (grows) {
		if (va < k->stack_lo || va >= k->sys)
			return -EINVAL;
		len += va - k->stack_lo;
		va = k->stack_lo;
	}
	if (!kx_ok(k, va, len) || !kx_pt_mapped(&k->pt, va, len))
		return -ENOMEM;
	/* A shared mapping of a file not open for writing stays so. */
	if ((prot & PROT_WRITE) && shared_in(k, va, len, true))
		return -EACCES;
	return kx_pt_set(&k->pt, va, len, kx_pt_flags((int)prot), kx_edits(c));
}

long kx_brk(struct kx_cpu *c, uint64_t want)
{
	struct kx *k = c->k;
	if (want < k->brk_start || want > k->brk_max)
		return (long)k->brk_cur;
	uint64_t pa = (want + KX_PAGE - 1) & ~(KX_PAGE - 1);
	uint64_t pc = (k->brk_cur + KX_PAGE - 1) & ~(KX_PAGE - 1);
	/* Shrunk then regrown memory reads zeros, as on Linux. */
	if (pa < pc && drop_shared(k, pa, pc - pa))
		return (long)k->brk_cur;
	if (pa < pc)
		kx_zero(k, pa, pc - pa);
	/* brk memory is read/write (and already is, unless the program
	 * unmapped or protected it meanwhile: then no edits either way). */
	if (pa > pc && kx_pt_set(&k->pt, pc, pa - pc,
				 kx_pt_flags(PROT_READ | PROT_WRITE), kx_edits(c)))
		return (long)k->brk_cur;
	k->brk_cur = want;
	return (long)want;
}

/* Every page of [va, va+len) has flags f (one mapping, as Linux's mremap
 * wants the old range to be). */
static bool same_flags(struct kx *k, uint64_t va, uint64_t len, uint64_t f)
{
	for (uint64_t a = va; a < va + len; a += KX_PAGE)
		if (kx_pt_get(&k->pt, a) != f)
			return false;
	return true;
}

/* The contents move by copying (the guest-physical pages stay where they
 * are; the host's mremap would leave a hole in the memory slot under
 * vCPUs that may still use the old range until the edits run). */
long kx_mremap(struct kx_cpu *c, const uint64_t *a)
{
	struct kx *k = c->k;
	uint64_t old = a[0], flags = a[3], to = a[4];
	uint64_t olen = (a[1] + KX_PAGE - 1) & ~(KX_PAGE - 1);
	uint64_t nlen = (a[2] + KX_PAGE - 1) & ~(KX_PAGE - 1);
	bool fixed = flags & MREMAP_FIXED;
	if ((old & (KX_PAGE - 1)) || !nlen || a[2] > k->size || a[1] > k->size ||
	    (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    (fixed && !(flags & MREMAP_MAYMOVE)) ||
	    (fixed && (to & (KX_PAGE - 1))))
		return -EINVAL;
	if (!olen)
		return -EINVAL;     /* duplicating a shared mapping: not here */
	uint64_t f = kx_pt_get(&k->pt, old);
	if (!f || !kx_ok(k, old, olen) || !same_flags(k, old, olen, f))
		return -EFAULT;
	/* Moving or growing a file's own pages: not offered (the copy
	 * below would detach them from the file). */
	if (shared_in(k, old, olen, false) && (nlen > olen || fixed))
		return -ENOMEM;
	if (nlen < olen) {
		long r = kx_munmap(c, old + nlen, olen - nlen);
		if (r)
			return r;
		olen = nlen;
	}
	if (!fixed) {
		if (nlen == olen)
			return (long)old;
		/* In place: the pages after it free in the mmap area. */
		uint64_t end = old + nlen;
		if (old + olen >= k->mmap_lo && end <= k->mmap_hi &&
		    end > old && !kx_used(k, old + olen, nlen - olen)) {
			int r = kx_pt_set(&k->pt, old + olen, nlen - olen, f,
					  kx_edits(c));
			if (r)
				return r;
			kx_mark(k, old + olen, nlen - olen, true);
			kx_zero(k, old + olen, nlen - olen);
			return (long)old;
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		to = kx_find_free(k, nlen / KX_PAGE);
		if (!to)
			return -ENOMEM;
	} else if (!kx_ok(k, to, nlen) || (to < old + olen && old < to + nlen)) {
		return -EINVAL;
	}
	int r = kx_pt_set(&k->pt, to, nlen, f, kx_edits(c));
	if (r)
		return r;
	kx_mark(k, to, nlen, true);
	if ((r = drop_shared(k, to, nlen)))
		return r;
	kx_zero(k, to, nlen);
	memcpy(k->mem + to, k->mem + old, olen);
	r = (int)kx_munmap(c, old, olen);
	return r ? r : (long)to;
}
