/* Memory map of the riscv `virt` board, as QEMU's `-M virt` lays it out so
 * that stock kernels, OpenSBI and U-Boot find what they expect (QEMU
 * hw/riscv/virt.c's memmap; addresses and sizes in bytes). */
#ifndef RINGVM_BOARD_VIRT_MEMMAP_H
#define RINGVM_BOARD_VIRT_MEMMAP_H

#define RV_TEST_BASE     0x00100000ULL /* sifive,test0 poweroff/reboot */
#define RV_TEST_SIZE     0x1000ULL
#define RV_RTC_BASE      0x00101000ULL /* google,goldfish-rtc */
#define RV_RTC_SIZE      0x1000ULL
#define RV_RTC_IRQ       11            /* after the UART's 10, as QEMU */
#define RV_CLINT_BASE    0x02000000ULL /* RV_CLINT_SIZE: hw/clint.h */
#define RV_PLIC_BASE     0x0c000000ULL /* RV_PLIC_SIZE: hw/plic.h */
#define RV_UART0_BASE    0x10000000ULL
#define RV_UART0_SIZE    0x100ULL
#define RV_UART0_IRQ     10
#define RV_VIRTIO_BASE   0x10001000ULL /* slot i at BASE + i * SIZE */
#define RV_VIRTIO_SIZE   0x1000ULL
#define RV_VIRTIO_SLOTS  8
#define RV_VIRTIO_IRQ    1             /* slot i uses IRQ 1 + i */
#define RV_RAM_BASE      0x80000000ULL

#endif
