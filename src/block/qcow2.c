/* qcow2: temporary stubs so that `ringvm img` can build against qcow2.h. */
#include "qcow2.h"

#include <string.h>

static int q_probe(const uint8_t *head, size_t head_len)
{
	return head_len >= 4 && !memcmp(head, "QFI\xfb", 4) ? 100 : 0;
}

static int q_open(int fd, const char *path, bool read_only,
		  struct block_dev **out, struct err *errp)
{
	return err_set(errp, ENOSYS, "disk `%s`: qcow2 not implemented yet",
		       path);
}

const struct block_driver block_qcow2 = { .name = "qcow2", .probe = q_probe,
					  .open = q_open };

int qcow2_create(const char *path, uint64_t size,
		 const struct qcow2_create_opts *o, struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_get_info(struct block_dev *bd, struct qcow2_info *out)
{ return -ENOSYS; }
int qcow2_snapshot_list(struct block_dev *bd,
			struct qcow2_snapshot_info **out, uint32_t *n,
			struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
void qcow2_snapshot_list_free(struct qcow2_snapshot_info *list, uint32_t n)
{}
int qcow2_snapshot_create(struct block_dev *bd, const char *name,
			  struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_snapshot_apply(struct block_dev *bd, const char *name_or_id,
			 struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_snapshot_delete(struct block_dev *bd, const char *name_or_id,
			  struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_check(struct block_dev *bd, bool repair,
		struct qcow2_check_result *res, struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_resize(struct block_dev *bd, uint64_t new_size, struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
int qcow2_set_backing(struct block_dev *bd, const char *backing,
		      const char *fmt, struct err *errp)
{ return err_set(errp, ENOSYS, "qcow2: not implemented yet"); }
void qcow2_set_l2_cache_size(uint64_t bytes) {}
