/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "netlink-util.h"
#include "sandbox-internal.h"

int sandbox_loopback_up(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *lo = NULL, *change = NULL;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        /* A new network namespace's loopback always has index 1 (LOOPBACK_IFINDEX, net/core/dev.c): no need to
         * ask for it by name first. */
        lo = rtnl_link_alloc();
        change = rtnl_link_alloc();
        if (!lo || !change)
                return -ENOMEM;
        rtnl_link_set_ifindex(lo, 1);
        /* Setting IFF_UP on a fresh namespace's loopback makes the kernel add 127.0.0.1/8 and ::1 itself
         * (net/ipv4/devinet.c inetdev_event(), net/ipv6/addrconf.c init_loopback()). */
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, lo, change, 0);
        return nl_error_to_errno(r);
}
