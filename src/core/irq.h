/* An interrupt line from a device to an interrupt controller.
 *
 * A device holds a struct irq_line and only calls irq_set_level(); the engine
 * wires the backend (the emulated PLIC for RV64, KVM_IRQ_LINE for KVM).
 * Level-triggered: the line stays asserted until the device lowers it. */
#ifndef RINGVM_CORE_IRQ_H
#define RINGVM_CORE_IRQ_H

struct irq_line {
	/* Backend callback; num is the controller's source number. */
	void (*set_level)(void *opaque, unsigned num, int level);
	void *opaque;
	unsigned num;
};

/* level: 0 = deasserted, non-zero = asserted.  A line with no backend
 * (set_level == NULL) is silently ignored. */
static inline void irq_set_level(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->num, level != 0);
}

#endif
