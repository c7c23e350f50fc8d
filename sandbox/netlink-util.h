/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Adapter for libnl-3 and libnl-route-3: their functions, loaded with dlopen() (see basic/dlopen-util.h), cleanup
 * helpers for their types, and the one place that turns -NLE_* into -errno.
 *
 * Loaded, not linked: linked, the two libraries cost every nsrun start their loading and relocation, on the
 * path of `nsrun exec`. Loaded, they cost it where it is hidden: a sandbox's init loads them on its main
 * thread, which builds the network while a second thread builds the mount tree; the runner loads them once
 * (sandbox_preload()) and every sandbox it forks has them. */

#include <errno.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "dlopen-util.h"
#include "macro.h"

DLSYM_PROTOTYPE(nl_socket_alloc);
DLSYM_PROTOTYPE(nl_socket_free);
DLSYM_PROTOTYPE(nl_connect);
DLSYM_PROTOTYPE(rtnl_link_alloc);
DLSYM_PROTOTYPE(rtnl_link_put);
DLSYM_PROTOTYPE(rtnl_link_set_ifindex);
DLSYM_PROTOTYPE(rtnl_link_set_flags);
DLSYM_PROTOTYPE(rtnl_link_change);

/* Loads both libraries once; -EOPNOTSUPP with *ret_error saying why. */
int dlopen_libnl(const char **ret_error);

static inline void nl_socket_freep(struct nl_sock **s) {
        if (*s)
                sym_nl_socket_free(*s);
}

static inline void rtnl_link_putp(struct rtnl_link **l) {
        if (*l)
                sym_rtnl_link_put(*l);
}

static inline int nl_error_to_errno(int nle) {
        switch (nle < 0 ? -nle : nle) {
        case 0: return 0;
        case NLE_NOMEM: return -ENOMEM;
        case NLE_PERM: return -EPERM;
        case NLE_EXIST: return -EEXIST;
        case NLE_OBJ_NOTFOUND: return -ENODEV;
        case NLE_NODEV: return -ENODEV;
        case NLE_INVAL: return -EINVAL;
        case NLE_OPNOTSUPP: return -EOPNOTSUPP;
        case NLE_AGAIN: return -EAGAIN;
        case NLE_BUSY: return -EBUSY;
        case NLE_NOACCESS: return -EACCES;
        case NLE_BAD_SOCK: return -EBADF;
        default: return -EIO;
        }
}
