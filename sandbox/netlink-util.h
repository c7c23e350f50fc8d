/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Adapter for libnl-3: cleanup helpers for its types, and the one place that turns -NLE_* into -errno. */

#include <errno.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>

#include "macro.h"

static inline void nl_socket_freep(struct nl_sock **s) {
        if (*s)
                nl_socket_free(*s);
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
