/* preflight test shim, not libfabric code (see fabric.h here): what libfabric >= 2.0 deprecates in
 * <rdma/fi_domain.h>. */
#ifndef PREFLIGHT_LIBFABRIC2_SHIM_FI_DOMAIN_H
#define PREFLIGHT_LIBFABRIC2_SHIM_FI_DOMAIN_H

#include_next <rdma/fi_domain.h>

#if FI_MAJOR_VERSION < 2
#undef FI_REG_MR
#define FI_REG_MR _Pragma("GCC warning \"'FI_REG_MR' is deprecated\"") (1ULL << 59)
#ifdef __cplusplus
extern "C" {
#endif
__attribute__((deprecated)) static inline int fi_wait_open(struct fid_fabric *fabric,
                                                           struct fi_wait_attr *attr,
                                                           struct fid_wait **waitset);
__attribute__((deprecated)) static inline int fi_poll_open(struct fid_domain *domain,
                                                           struct fi_poll_attr *attr,
                                                           struct fid_poll **pollset);
__attribute__((deprecated)) static inline int fi_av_bind(struct fid_av *av, struct fid *fid,
                                                         uint64_t flags);
#ifdef __cplusplus
}
#endif
#endif

#endif
