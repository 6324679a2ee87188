/* mmap, munmap, mprotect, brk, madvise, mremap, msync (mmap(2)
 * semantics on the page tables of mm.c).  MAP_PRIVATE file mappings are
 * copies read at mmap time; a MAP_SHARED file mapping's frames are the
 * file's own pages (mm.c); MAP_SHARED anonymous memory is a memfd's,
 * shared with forked children as natively.  Anything that removes or narrows a mapping is followed
 * by a TLB and decoded-code shootdown on every thread. */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys_nr.h"

#define PAGE_UP(x) (((x) + EXEC_PAGE_MASK) & ~EXEC_PAGE_MASK)

static int prot_of(uint64_t p)
{
	return (int)(p & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

/* Fill [va, va+len) from fd at off (to EOF; the rest stays zero). */
static long fill(struct exec_mm *mm, uint64_t va, uint64_t len, int fd,
		 uint64_t off)
{
	for (uint64_t done = 0; done < len; done += EXEC_PAGE) {
		uint8_t *h = mm_host(mm, va + done, 2, true);
		if (!h)
			return -ENOMEM;
		ssize_t n = pread(fd, h, EXEC_PAGE, (off_t)(off + done));
		if (n < 0)
			return -errno;
		if (n < (ssize_t)EXEC_PAGE)
			break;
	}
	return 0;
}

static long s_mmap(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t addr = a[0], len = a[1], off = a[5];
	int prot = prot_of(a[2]);
	int flags = (int)a[3], fd = (int)a[4];
	bool anon = flags & MAP_ANONYMOUS;
	int type = flags & MAP_TYPE;

	if (!len || (off & EXEC_PAGE_MASK) || (a[2] & ~7ULL))
		return -EINVAL;
	if (type != MAP_PRIVATE && type != MAP_SHARED &&
	    type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	len = PAGE_UP(len);
	if (!len || len > EXEC_USER_TOP)
		return -ENOMEM;
	if (!anon) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -EBADF;
		if ((fl & O_ACCMODE) == O_WRONLY)
			return -EACCES;
	}
	pthread_mutex_lock(&mm->lock);
	bool replaced = false;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if ((addr & EXEC_PAGE_MASK) || addr >= EXEC_USER_TOP ||
		    len > EXEC_USER_TOP - addr) {
			pthread_mutex_unlock(&mm->lock);
			return (flags & MAP_FIXED) ? -EINVAL : -ENOMEM;
		}
		if (mm_is_mapped(mm, addr, len)) {
			if (!(flags & MAP_FIXED)) {
				pthread_mutex_unlock(&mm->lock);
				return -EEXIST;
			}
			replaced = true;
		}
	} else {
		addr &= ~EXEC_PAGE_MASK;
		if (!addr || addr >= EXEC_USER_TOP ||
		    len > EXEC_USER_TOP - addr || mm_is_mapped(mm, addr, len))
			addr = mm_find_free(mm, len, 0x10000, EXEC_MMAP_TOP);
		if (!addr) {
			pthread_mutex_unlock(&mm->lock);
			return -ENOMEM;
		}
	}
	long r;
	if (anon && type != MAP_PRIVATE) {
		/* Shared anonymous memory is a memfd's pages, so a forked
		 * child shares it as natively. */
		int mfd = memfd_create("ringvm-shared", MFD_CLOEXEC);
		r = mfd < 0 ? -errno : ftruncate(mfd, (off_t)len) ? -ENOMEM :
		    mm_map_file(mm, addr, len, prot, mfd, 0);
		if (mfd >= 0)
			close(mfd);   /* the mapping holds its own dup */
	} else if (!anon && type != MAP_PRIVATE) {
		r = mm_map_file(mm, addr, len, prot, fd, off);
	} else {
		r = mm_map(mm, addr, len, prot);
		if (!r && !anon)
			r = fill(mm, addr, len, fd, off);
	}
	if (r)
		mm_unmap(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	if (replaced || r)
		rt_shootdown(t);
	return r ? r : (long)addr;
}

static long s_munmap(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t addr = a[0], len = PAGE_UP(a[1]);
	if ((addr & EXEC_PAGE_MASK) || !len || addr >= EXEC_USER_TOP ||
	    len > EXEC_USER_TOP - addr)
		return -EINVAL;
	pthread_mutex_lock(&mm->lock);
	mm_unmap(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	rt_shootdown(t);
	return 0;
}

static long s_mprotect(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t addr = a[0], len = PAGE_UP(a[1]);
	if ((addr & EXEC_PAGE_MASK) || (a[2] & ~7ULL))
		return -EINVAL;
	if (!len)
		return 0;
	pthread_mutex_lock(&mm->lock);
	int r = mm_protect(mm, addr, len, prot_of(a[2]));
	pthread_mutex_unlock(&mm->lock);
	rt_shootdown(t);
	return r;
}

static long s_brk(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t want = a[0];
	pthread_mutex_lock(&mm->lock);
	uint64_t cur = mm->brk_cur;
	bool shrunk = false;
	if (want >= mm->brk_start && want < EXEC_MMAP_TOP) {
		uint64_t old_end = PAGE_UP(cur), new_end = PAGE_UP(want);
		if (new_end > old_end) {
			if (!mm_is_mapped(mm, old_end, new_end - old_end) &&
			    !mm_map(mm, old_end, new_end - old_end,
				    EXEC_PROT_R | EXEC_PROT_W))
				mm->brk_cur = want;
		} else {
			if (new_end < old_end) {
				mm_unmap(mm, new_end, old_end - new_end);
				shrunk = true;
			}
			mm->brk_cur = want;
		}
	}
	cur = mm->brk_cur;
	pthread_mutex_unlock(&mm->lock);
	if (shrunk)
		rt_shootdown(t);
	return (long)cur;
}

static long s_madvise(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t addr = a[0], len = PAGE_UP(a[1]);
	if (addr & EXEC_PAGE_MASK)
		return -EINVAL;
	if (a[2] != MADV_DONTNEED && a[2] != MADV_FREE)
		return 0;   /* advice only */
	if (!len || addr >= EXEC_USER_TOP || len > EXEC_USER_TOP - addr)
		return -EINVAL;
	/* Private memory reads as zeros afterwards: drop the frames, keep
	 * the mappings (a file mapping would re-read its file; ours are
	 * copies, so they read zeros too). */
	pthread_mutex_lock(&mm->lock);
	mm_discard(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	rt_shootdown(t);
	return 0;
}

static long s_mremap(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	uint64_t old = a[0], olen = PAGE_UP(a[1]), nlen = PAGE_UP(a[2]);
	uint64_t flags = a[3];
	if ((old & EXEC_PAGE_MASK) || !nlen ||
	    (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) ||
	    ((flags & MREMAP_FIXED) && (a[4] & EXEC_PAGE_MASK)))
		return -EINVAL;
	if (!olen)
		return -EINVAL;     /* duplicating a shared mapping: not here */
	if (nlen <= olen && !(flags & MREMAP_FIXED)) {
		if (nlen < olen) {
			pthread_mutex_lock(&mm->lock);
			mm_unmap(mm, old + nlen, olen - nlen);
			pthread_mutex_unlock(&mm->lock);
			rt_shootdown(t);
		}
		return (long)old;
	}
	if (nlen < olen) {
		/* Shrink first, then move what is left (MREMAP_FIXED). */
		pthread_mutex_lock(&mm->lock);
		mm_unmap(mm, old + nlen, olen - nlen);
		pthread_mutex_unlock(&mm->lock);
		olen = nlen;
	}
	pthread_mutex_lock(&mm->lock);
	long r = mm_remap(mm, old, olen, nlen, flags & MREMAP_MAYMOVE,
			  (flags & MREMAP_FIXED) ? a[4] : 0);
	pthread_mutex_unlock(&mm->lock);
	if (r != (long)old)
		rt_shootdown(t);
	return r;
}

static long s_nop(struct exec_thread *t, const uint64_t *a)
{
	return 0;
}

static long s_msync(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = T_MM(t);
	pthread_mutex_lock(&mm->lock);
	int r = mm_sync(mm, a[0], PAGE_UP(a[1]), (int)a[2]);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

sys_fn sys_mm_lookup(long nr)
{
	switch (nr) {
	case RV_NR_mmap: return s_mmap;
	case RV_NR_munmap: return s_munmap;
	case RV_NR_mprotect: return s_mprotect;
	case RV_NR_brk: return s_brk;
	case RV_NR_madvise: return s_madvise;
	case RV_NR_mremap: return s_mremap;
	case RV_NR_msync: return s_msync;
	case RV_NR_mlock: case RV_NR_munlock:
	case RV_NR_mlockall: case RV_NR_munlockall:
		return s_nop;
	default: return NULL;
	}
}
