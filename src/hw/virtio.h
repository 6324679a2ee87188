/* Constants shared by every virtio transport and device (virtio 1.2).
 *
 * Only what ringvm implements is here; numbers come from the spec sections
 * named beside each group.  All multi-byte fields in guest memory and in
 * config space are little-endian (virtio 1.2 §1.4). */
#ifndef RINGVM_HW_VIRTIO_H
#define RINGVM_HW_VIRTIO_H

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01u
#define VIRTIO_STATUS_DRIVER             0x02u
#define VIRTIO_STATUS_DRIVER_OK          0x04u
#define VIRTIO_STATUS_FEATURES_OK        0x08u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED             0x80u

/* Reserved (device-independent) feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED     34

#define VIRTIO_BIT(n) (1ULL << (n))

/* Device IDs (§5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Split virtqueue descriptor flags (§2.7.5). */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u

/* Ring flags (§2.7.6, §2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

/* Largest queue size a split ring may have (§2.7). */
#define VIRTQ_MAX_SIZE 32768u

/* Interrupt status bits, shared by MMIO InterruptStatus and the PCI ISR
 * (§4.2.2, §4.1.4.5). */
#define VIRTIO_INT_USED   1u  /* used buffer notification */
#define VIRTIO_INT_CONFIG 2u  /* configuration change notification */

#endif
