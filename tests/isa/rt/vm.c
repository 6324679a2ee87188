/* Sv39/Sv48 page-table builder for the ISA tests (M-mode, physical). */
#include "rt.h"

static u64 *root;
static int nlevels;

void vm_init(int levels)
{
	nlevels = levels;
	root = rt_alloc_page();
}

static unsigned vpn(u64 va, int level)
{
	return (unsigned)(va >> (12 + 9 * level)) & 511;
}

volatile u64 *vm_slot(u64 va, int level)
{
	u64 *t = root;
	for (int l = nlevels - 1; l > level; l--) {
		u64 *e = &t[vpn(va, l)];
		if (!(*e & PTE_V)) {
			u64 *n = rt_alloc_page();
			*e = (((u64)n >> 12) << 10) | PTE_V;
		} else if (*e & (PTE_R | PTE_W | PTE_X)) {
			rt_printf("vm_slot: leaf in the way at level %d for 0x%lx\n",
				  l, va);
			rt_exit(9998);
		}
		t = (u64 *)((*e >> 10) << 12);
	}
	return &t[vpn(va, level)];
}

volatile u64 *vm_map(u64 va, u64 pa, u64 flags, int level)
{
	volatile u64 *e = vm_slot(va, level);
	*e = ((pa >> 12) << 10) | flags | PTE_V;
	return e;
}

volatile u64 *vm_pte(u64 va)
{
	u64 *t = root;
	for (int l = nlevels - 1; l >= 0; l--) {
		u64 *e = &t[vpn(va, l)];
		if (!(*e & PTE_V) || (*e & (PTE_R | PTE_W | PTE_X)))
			return e;
		t = (u64 *)((*e >> 10) << 12);
	}
	return NULL;
}

u64 vm_satp(void)
{
	return (nlevels == 4 ? SATP_SV48 : SATP_SV39) | ((u64)root >> 12);
}

void vm_on(void)
{
	csr_write(satp, vm_satp());
	sfence_vma();
}

void vm_off(void)
{
	csr_write(satp, 0);
	sfence_vma();
}
