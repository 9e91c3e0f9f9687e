/* preflight test shim, not libfabric code (see fabric.h here): what libfabric >= 2.0 deprecates in
 * <rdma/fi_eq.h>. */
#ifndef PREFLIGHT_LIBFABRIC2_SHIM_FI_EQ_H
#define PREFLIGHT_LIBFABRIC2_SHIM_FI_EQ_H

#include_next <rdma/fi_eq.h>

#if FI_MAJOR_VERSION < 2
#ifdef __cplusplus
extern "C" {
#endif
__attribute__((deprecated)) static inline int fi_wait(struct fid_wait *waitset, int timeout);
__attribute__((deprecated)) static inline int fi_poll(struct fid_poll *pollset, void **context,
                                                      int count);
__attribute__((deprecated)) static inline int fi_poll_add(struct fid_poll *pollset,
                                                          struct fid *event_fid, uint64_t flags);
__attribute__((deprecated)) static inline int fi_poll_del(struct fid_poll *pollset,
                                                          struct fid *event_fid, uint64_t flags);
#ifdef __cplusplus
}
#endif
#endif

#endif
