/* The guest's address space: a pool of guest-physical pages, Sv39 page
 * tables in it (walked by the interpreter's own MMU, priv 1.12 §4.4), and
 * the list of mappings.
 *
 * Why page tables rather than a flat host mapping: the interpreter already
 * translates every access through its TLB, so precise permissions and
 * faults cost nothing extra, and a wild guest access can only ever reach
 * pool pages it owns or fault — never host memory.
 *
 * A mapping (VMA) says what may be accessed; a leaf PTE exists only for a
 * page that has been touched (populated on the first fault, zero-filled),
 * so reserving address space costs nothing.  PTEs carry A and D set (the
 * walker never needs to write them) and V only when the mapping's prot
 * is not PROT_NONE; a PROT_NONE page keeps its frame (mprotect back).
 * Page-table pages are never freed. */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
#define PTE_PPN(p) (((p) >> 10) & ((1ULL << 44) - 1))
/* RSW (software, ignored by the walk): the frame is a file's page,
 * host-mapped MAP_SHARED; freeing it maps anonymous memory back. */
#define PTE_FILE (1ULL << 8)
#define MAX_VMAS 65530

int mm_init(struct exec_mm *mm, struct guest_mem *mem, struct err *errp)
{
	memset(mm, 0, sizeof(*mm));
	mm->mem = mem;
	mm->pool = gpa_ptr(mem, EXEC_POOL_GPA, 1);
	if (!mm->pool)
		return err_set(errp, EINVAL, "no memory pool");
	mm->npages = mem->r[0].size / EXEC_PAGE;
	mm->free = malloc(mm->npages * sizeof(uint32_t));
	if (!mm->free)
		return err_set(errp, ENOMEM, "cannot allocate the page list");
	pthread_mutex_init(&mm->lock, NULL);
	mm->bump = 1;   /* page 0 is the root table */
	mm->root_pa = EXEC_POOL_GPA;
	return 0;
}

static void file_put(struct exec_file *f);

void mm_free(struct exec_mm *mm)
{
	for (size_t i = 0; i < mm->nvma; i++)
		file_put(mm->vma[i].file);
	free(mm->free);
	free(mm->vma);
	mm->free = NULL;
	mm->vma = NULL;
}

uint64_t mm_satp(const struct exec_mm *mm)
{
	return (8ULL << 60) | (mm->root_pa >> 12);
}

static uint8_t *pa_host(const struct exec_mm *mm, uint64_t pa)
{
	return mm->pool + (pa - EXEC_POOL_GPA);
}

/* A zeroed page, or 0 when the pool is exhausted. */
static uint64_t page_alloc(struct exec_mm *mm)
{
	if (mm->nfree)
		return EXEC_POOL_GPA + (uint64_t)mm->free[--mm->nfree] * EXEC_PAGE;
	if (mm->bump >= mm->npages)
		return 0;
	return EXEC_POOL_GPA + mm->bump++ * EXEC_PAGE;
}

static void page_free(struct exec_mm *mm, uint64_t pa)
{
	/* Hand the frame back to the host: it reads as zeros next time. */
	madvise(pa_host(mm, pa), EXEC_PAGE, MADV_DONTNEED);
	mm->free[mm->nfree++] = (uint32_t)((pa - EXEC_POOL_GPA) / EXEC_PAGE);
}

/* Leaf PTE slot of va, creating tables when alloc; NULL when absent (or
 * no memory for a table). */
static uint64_t *pt_slot(struct exec_mm *mm, uint64_t va, bool alloc)
{
	uint64_t table = mm->root_pa;
	for (int lvl = 2; lvl > 0; lvl--) {
		uint64_t *e = (uint64_t *)pa_host(mm, table) +
			      ((va >> (12 + 9 * lvl)) & 511);
		uint64_t pte = __atomic_load_n(e, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_V)) {
			if (!alloc)
				return NULL;
			uint64_t pa = page_alloc(mm);
			if (!pa)
				return NULL;
			__atomic_store_n(e, (pa >> 12) << 10 | PTE_V,
					 __ATOMIC_RELEASE);
			pte = (pa >> 12) << 10 | PTE_V;
		}
		table = PTE_PPN(pte) << 12;
	}
	return (uint64_t *)pa_host(mm, table) + ((va >> 12) & 511);
}

static uint64_t pte_bits(int prot)
{
	if (!prot)
		return 0;
	uint64_t b = PTE_V | PTE_U | PTE_A | PTE_D;
	/* W without R is a reserved encoding: writable implies readable
	 * (as Linux maps PROT_WRITE). */
	if (prot & (EXEC_PROT_R | EXEC_PROT_W))
		b |= PTE_R;
	if (prot & EXEC_PROT_W)
		b |= PTE_W;
	if (prot & EXEC_PROT_X)
		b |= PTE_X;
	return b;
}

/* ---- VMA list ---- */

static size_t vma_first_end_above(const struct exec_mm *mm, uint64_t va)
{
	size_t lo = 0, hi = mm->nvma;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (mm->vma[mid].end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct exec_vma *vma_find(const struct exec_mm *mm, uint64_t va)
{
	size_t i = vma_first_end_above(mm, va);
	if (i < mm->nvma && mm->vma[i].start <= va)
		return &mm->vma[i];
	return NULL;
}

static int vma_reserve(struct exec_mm *mm, size_t extra)
{
	if (mm->nvma + extra <= mm->cap)
		return 0;
	if (mm->nvma + extra > MAX_VMAS)
		return -ENOMEM;
	size_t cap = mm->cap ? mm->cap * 2 : 64;
	while (cap < mm->nvma + extra)
		cap *= 2;
	struct exec_vma *v = realloc(mm->vma, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	mm->vma = v;
	mm->cap = cap;
	return 0;
}

static void file_put(struct exec_file *f)
{
	if (f && !--f->refs) {
		close(f->fd);
		free(f);
	}
}

/* Remove [s, e) from the list, splitting mappings that straddle it. */
static int vma_cut(struct exec_mm *mm, uint64_t s, uint64_t e)
{
	if (vma_reserve(mm, 1))
		return -ENOMEM;
	size_t i = vma_first_end_above(mm, s);
	while (i < mm->nvma && mm->vma[i].start < e) {
		struct exec_vma *v = &mm->vma[i];
		if (v->start < s && v->end > e) {
			memmove(v + 1, v, (mm->nvma - i) * sizeof(*v));
			mm->nvma++;
			v[0].end = s;
			v[1].off += e - v[1].start;
			v[1].start = e;
			if (v[1].file)
				v[1].file->refs++;
			return 0;
		}
		if (v->start < s) {
			v->end = s;
			i++;
		} else if (v->end > e) {
			v->off += e - v->start;
			v->start = e;
			break;
		} else {
			file_put(v->file);
			memmove(v, v + 1, (mm->nvma - i - 1) * sizeof(*v));
			mm->nvma--;
		}
	}
	return 0;
}

static int vma_add(struct exec_mm *mm, uint64_t s, uint64_t e, int prot)
{
	int r = vma_cut(mm, s, e);
	if (r || (r = vma_reserve(mm, 1)))
		return r;
	size_t i = vma_first_end_above(mm, s);
	/* Merge with neighbours of the same prot (keeps the list short
	 * for brk and stack-like growth). */
	if (i > 0 && mm->vma[i - 1].end == s && mm->vma[i - 1].prot == prot &&
	    !mm->vma[i - 1].file) {
		mm->vma[i - 1].end = e;
		if (i < mm->nvma && mm->vma[i].start == e &&
		    mm->vma[i].prot == prot && !mm->vma[i].file) {
			mm->vma[i - 1].end = mm->vma[i].end;
			memmove(&mm->vma[i], &mm->vma[i + 1],
				(mm->nvma - i - 1) * sizeof(struct exec_vma));
			mm->nvma--;
		}
		return 0;
	}
	if (i < mm->nvma && mm->vma[i].start == e && mm->vma[i].prot == prot &&
	    !mm->vma[i].file) {
		mm->vma[i].start = s;
		return 0;
	}
	memmove(&mm->vma[i + 1], &mm->vma[i],
		(mm->nvma - i) * sizeof(struct exec_vma));
	mm->vma[i] = (struct exec_vma){ s, e, prot, NULL, 0 };
	mm->nvma++;
	return 0;
}

static bool range_ok(uint64_t va, uint64_t len)
{
	return len && !(va & EXEC_PAGE_MASK) && !(len & EXEC_PAGE_MASK) &&
	       va < EXEC_USER_TOP && len <= EXEC_USER_TOP - va;
}

/* Call fn on every populated leaf of [s, e), skipping absent tables. */
static void pt_each(struct exec_mm *mm, uint64_t s, uint64_t e,
		    void (*fn)(struct exec_mm *, uint64_t *, void *), void *arg)
{
	uint64_t va = s;
	while (va < e) {
		uint64_t *root = (uint64_t *)pa_host(mm, mm->root_pa);
		uint64_t l2 = root[(va >> 30) & 511];
		if (!(l2 & PTE_V)) {
			va = (va | ((1ULL << 30) - 1)) + 1;
			continue;
		}
		uint64_t *mid = (uint64_t *)pa_host(mm, PTE_PPN(l2) << 12);
		uint64_t l1 = mid[(va >> 21) & 511];
		if (!(l1 & PTE_V)) {
			va = (va | ((1ULL << 21) - 1)) + 1;
			continue;
		}
		uint64_t *leaf = (uint64_t *)pa_host(mm, PTE_PPN(l1) << 12);
		uint64_t *slot = &leaf[(va >> 12) & 511];
		if (*slot)
			fn(mm, slot, arg);
		va += EXEC_PAGE;
	}
}

static void drop_leaf(struct exec_mm *mm, uint64_t *slot, void *arg)
{
	uint64_t pte = *slot;
	uint64_t pa = PTE_PPN(pte) << 12;
	__atomic_store_n(slot, 0, __ATOMIC_RELEASE);
	/* A file's page: plain memory again before the frame is reused
	 * (a later anonymous use must not write the file). */
	if ((pte & PTE_FILE) &&
	    mmap(pa_host(mm, pa), EXEC_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return;   /* leak the frame rather than hand it out */
	page_free(mm, pa);
}

void mm_unmap(struct exec_mm *mm, uint64_t va, uint64_t len)
{
	if (!range_ok(va, len))
		return;
	pt_each(mm, va, va + len, drop_leaf, NULL);
	vma_cut(mm, va, va + len);
}

void mm_discard(struct exec_mm *mm, uint64_t va, uint64_t len)
{
	if (range_ok(va, len))
		pt_each(mm, va, va + len, drop_leaf, NULL);
}

int mm_map(struct exec_mm *mm, uint64_t va, uint64_t len, int prot)
{
	if (!range_ok(va, len))
		return -EINVAL;
	pt_each(mm, va, va + len, drop_leaf, NULL);
	return vma_add(mm, va, va + len, prot);
}

static void reprot_leaf(struct exec_mm *mm, uint64_t *slot, void *arg)
{
	uint64_t ppn = PTE_PPN(*slot);
	/* A frame without V must stay recognisable as populated: keep the
	 * PPN (a pool page is never PPN 0), and whose page it is. */
	__atomic_store_n(slot, ppn << 10 | pte_bits(*(int *)arg) |
			 (*slot & PTE_FILE), __ATOMIC_RELEASE);
}

/* Split the mapping that contains a strictly inside it (a file
 * mapping's right half keeps its offset). */
static int vma_split(struct exec_mm *mm, uint64_t a)
{
	size_t i = vma_first_end_above(mm, a);
	if (i >= mm->nvma || mm->vma[i].start >= a)
		return 0;
	if (vma_reserve(mm, 1))
		return -ENOMEM;
	struct exec_vma *v = &mm->vma[i];
	memmove(v + 1, v, (mm->nvma - i) * sizeof(*v));
	mm->nvma++;
	v[0].end = a;
	v[1].off += a - v[1].start;
	v[1].start = a;
	if (v[1].file)
		v[1].file->refs++;
	return 0;
}

int mm_protect(struct exec_mm *mm, uint64_t va, uint64_t len, int prot)
{
	if (!range_ok(va, len))
		return -EINVAL;
	/* Linux: ENOMEM if any page of the range is unmapped; EACCES for
	 * a shared file mapping the file's open mode cannot write. */
	for (uint64_t a = va; a < va + len;) {
		const struct exec_vma *v = vma_find(mm, a);
		if (!v)
			return -ENOMEM;
		if ((prot & EXEC_PROT_W) && v->file && !v->file->w)
			return -EACCES;
		a = v->end;
	}
	int r = vma_split(mm, va);
	if (!r)
		r = vma_split(mm, va + len);
	if (r)
		return r;
	/* In place: a file mapping stays one. */
	for (size_t i = vma_first_end_above(mm, va);
	     i < mm->nvma && mm->vma[i].start < va + len; i++)
		mm->vma[i].prot = prot;
	pt_each(mm, va, va + len, reprot_leaf, &prot);
	return 0;
}

int mm_map_file(struct exec_mm *mm, uint64_t va, uint64_t len, int prot,
		int fd, uint64_t off)
{
	if (!range_ok(va, len))
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -EBADF;
	bool w = (fl & O_ACCMODE) == O_RDWR;
	if ((fl & O_ACCMODE) == O_WRONLY || ((prot & EXEC_PROT_W) && !w))
		return -EACCES;
	struct exec_file *f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct exec_file){ fcntl(fd, F_DUPFD_CLOEXEC, 0), 1, w };
	if (f->fd < 0) {
		int e = -errno;
		free(f);
		return e;
	}
	pt_each(mm, va, va + len, drop_leaf, NULL);
	int r = vma_cut(mm, va, va + len);
	if (!r)
		r = vma_reserve(mm, 1);
	if (r) {
		file_put(f);
		return r;
	}
	size_t i = vma_first_end_above(mm, va);
	memmove(&mm->vma[i + 1], &mm->vma[i],
		(mm->nvma - i) * sizeof(struct exec_vma));
	mm->vma[i] = (struct exec_vma){ va, va + len, prot, f, off };
	mm->nvma++;
	return 0;
}

int mm_sync(struct exec_mm *mm, uint64_t va, uint64_t len, int flags)
{
	if ((va & EXEC_PAGE_MASK) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	for (size_t i = vma_first_end_above(mm, va);
	     i < mm->nvma && mm->vma[i].start < va + len; i++)
		if (mm->vma[i].file && (flags & MS_SYNC) &&
		    fdatasync(mm->vma[i].file->fd))
			return -errno;
	return 0;
}

uint64_t mm_find_free(const struct exec_mm *mm, uint64_t len, uint64_t above,
		      uint64_t below)
{
	if (!len || below < len)
		return 0;
	uint64_t top = below;
	for (size_t i = mm->nvma; i-- > 0;) {
		const struct exec_vma *v = &mm->vma[i];
		if (v->start >= top)
			continue;
		if (v->end <= top - len && top - len >= above)
			return top - len;
		top = v->start;
		if (top < above + len)
			return 0;
	}
	return top >= above + len ? top - len : 0;
}

long mm_remap(struct exec_mm *mm, uint64_t old, uint64_t olen, uint64_t nlen,
	      bool may_move, uint64_t fixed)
{
	const struct exec_vma *v = old < EXEC_USER_TOP ? vma_find(mm, old) : NULL;
	if (!v || !range_ok(old, olen) || v->end < old + olen)
		return -EFAULT;
	int prot = v->prot;
	uint64_t to = old;
	if (v->file)
		return -ENOMEM;   /* a file's pages do not move here */
	if (!fixed && range_ok(old + olen, nlen - olen) &&
	    !mm_is_mapped(mm, old + olen, nlen - olen)) {
		/* In place: the pages after it are free. */
		int r = vma_add(mm, old + olen, old + nlen, prot);
		return r ? r : (long)old;
	}
	if (!may_move)
		return -ENOMEM;
	if (fixed) {
		to = fixed;
		if (!range_ok(to, nlen) || (to < old + olen && old < to + nlen))
			return -EINVAL;
		pt_each(mm, to, to + nlen, drop_leaf, NULL);
	} else {
		to = mm_find_free(mm, nlen, 0x10000, EXEC_MMAP_TOP);
		if (!to)
			return -ENOMEM;
	}
	int r = vma_add(mm, to, to + nlen, prot);
	if (r)
		return r;
	/* The frames move with their contents: only the leaves change. */
	for (uint64_t off = 0; off < olen; off += EXEC_PAGE) {
		uint64_t *from = pt_slot(mm, old + off, false);
		if (!from || !*from)
			continue;
		uint64_t *slot = pt_slot(mm, to + off, true);
		if (!slot) {
			mm_unmap(mm, to, nlen);
			return -ENOMEM;
		}
		__atomic_store_n(slot, *from, __ATOMIC_RELEASE);
		__atomic_store_n(from, 0, __ATOMIC_RELEASE);
	}
	mm_unmap(mm, old, olen);
	return (long)to;
}

bool mm_is_mapped(const struct exec_mm *mm, uint64_t va, uint64_t len)
{
	size_t i = vma_first_end_above(mm, va);
	return i < mm->nvma && mm->vma[i].start < va + len;
}

static bool prot_allows(int prot, int acc)
{
	static const int need[] = { EXEC_PROT_X, EXEC_PROT_R, EXEC_PROT_W };
	if (acc == 1 && (prot & EXEC_PROT_W))
		return true;
	return (prot & need[acc]) != 0;
}

/* Frame pa becomes the page of v's file behind va: -EIO past the end of
 * the file (SIGBUS, as Linux), -errno when the host cannot map it. */
static int file_page(struct exec_mm *mm, const struct exec_vma *v,
		     uint64_t va, uint64_t pa)
{
	uint64_t off = v->off + ((va & ~EXEC_PAGE_MASK) - v->start);
	struct stat st;
	if (fstat(v->file->fd, &st))
		return -errno;
	if (off >= (uint64_t)st.st_size)
		return -EIO;
	if (mmap(pa_host(mm, pa), EXEC_PAGE,
		 PROT_READ | (v->file->w ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, v->file->fd, (off_t)off) == MAP_FAILED)
		return -errno;
	return 0;
}

/* Populated leaf of va inside v, or NULL when the pool is exhausted. */
static uint64_t *populate(struct exec_mm *mm, const struct exec_vma *v,
			  uint64_t va)
{
	uint64_t *slot = pt_slot(mm, va, true);
	if (!slot)
		return NULL;
	if (!*slot) {
		uint64_t pa = page_alloc(mm);
		if (!pa)
			return NULL;
		uint64_t file = 0;
		if (v->file && file_page(mm, v, va, pa)) {
			page_free(mm, pa);
			return NULL;
		}
		if (v->file)
			file = PTE_FILE;
		__atomic_store_n(slot, (pa >> 12) << 10 | pte_bits(v->prot) |
				 file, __ATOMIC_RELEASE);
	}
	return slot;
}

int mm_fault(struct exec_mm *mm, uint64_t va, int acc)
{
	pthread_mutex_lock(&mm->lock);
	const struct exec_vma *v = va < EXEC_USER_TOP ? vma_find(mm, va) : NULL;
	int r = 0;
	if (!v)
		r = -EFAULT;
	else if (!prot_allows(v->prot, acc))
		r = -EACCES;
	else if (!populate(mm, v, va))
		r = v->file ? -EIO : -ENOMEM;
	pthread_mutex_unlock(&mm->lock);
	return r;
}

uint8_t *mm_host(struct exec_mm *mm, uint64_t va, int acc, bool force)
{
	const struct exec_vma *v = va < EXEC_USER_TOP ? vma_find(mm, va) : NULL;
	if (!v || (!force && !prot_allows(v->prot, acc)))
		return NULL;
	uint64_t *slot = populate(mm, v, va);
	if (!slot)
		return NULL;
	return pa_host(mm, PTE_PPN(*slot) << 12) + (va & EXEC_PAGE_MASK);
}

int mm_iov(struct exec_mm *mm, uint64_t va, uint64_t len, int acc,
	   struct iovec *iov, int max)
{
	int n = 0;
	if (!len)
		return 0;
	if (va + len < va)
		return -EFAULT;
	pthread_mutex_lock(&mm->lock);
	while (len) {
		uint64_t chunk = EXEC_PAGE - (va & EXEC_PAGE_MASK);
		if (chunk > len)
			chunk = len;
		uint8_t *h = mm_host(mm, va, acc, false);
		if (!h) {
			n = n ? n : -EFAULT;
			break;
		}
		if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == h) {
			iov[n - 1].iov_len += chunk;
		} else {
			if (n == max)
				break;
			iov[n].iov_base = h;
			iov[n].iov_len = chunk;
			n++;
		}
		va += chunk;
		len -= chunk;
	}
	pthread_mutex_unlock(&mm->lock);
	return n;
}

static int copy(struct exec_mm *mm, uint64_t va, void *buf, size_t len,
		int acc, bool force)
{
	uint8_t *b = buf;
	while (len) {
		uint64_t chunk = EXEC_PAGE - (va & EXEC_PAGE_MASK);
		if (chunk > len)
			chunk = len;
		uint8_t *h = mm_host(mm, va, acc, force);
		if (!h)
			return -EFAULT;
		if (acc == 2)
			memcpy(h, b, chunk);
		else
			memcpy(b, h, chunk);
		va += chunk;
		b += chunk;
		len -= chunk;
	}
	return 0;
}

int mm_read(struct exec_mm *mm, uint64_t va, void *dst, size_t len)
{
	pthread_mutex_lock(&mm->lock);
	int r = copy(mm, va, dst, len, 1, false);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_write(struct exec_mm *mm, uint64_t va, const void *src, size_t len)
{
	pthread_mutex_lock(&mm->lock);
	int r = copy(mm, va, (void *)src, len, 2, false);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_write_force(struct exec_mm *mm, uint64_t va, const void *src,
		   size_t len)
{
	return copy(mm, va, (void *)src, len, 2, true);
}

int mm_strdup(struct exec_mm *mm, uint64_t va, char *dst, size_t max)
{
	pthread_mutex_lock(&mm->lock);
	int r = -ENAMETOOLONG;
	const uint8_t *h = NULL;
	for (size_t i = 0; i < max; i++) {
		if (!h || !((va + i) & EXEC_PAGE_MASK))
			h = mm_host(mm, va + i, 1, false);
		if (!h) {
			r = -EFAULT;
			break;
		}
		dst[i] = (char)*h;
		if (!*h++) {
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&mm->lock);
	return r;
}
