/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's network: its loopback interface, up, through libnl. */

#include <linux/rtnetlink.h>
#include <net/if.h>

#include "netlink-util.h"
#include "sandbox-internal.h"

int sandbox_netlink_open(struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        *ret = TAKE_PTR(sk);
        return 0;
}

/* One RTM_NEWLINK request, built with libnl's message API and acknowledged by the kernel (nl_send_sync()). A new
 * network namespace's loopback always has index 1 (LOOPBACK_IFINDEX, net/core/dev.c), so it needs no lookup by
 * name; and setting IFF_UP on it makes the kernel add 127.0.0.1/8 and ::1 itself (net/ipv4/devinet.c
 * inetdev_event(), net/ipv6/addrconf.c init_loopback()). libnl-route's link objects would make the same request
 * through its object layer, but loading libnl-route (its constructors register every link, qdisc and classifier
 * type) took twice as long as loading libnl, on the sandbox's critical path. */
int sandbox_loopback_up(struct nl_sock *sk) {
        struct ifinfomsg ifi = {
                .ifi_family = AF_UNSPEC,
                .ifi_index = 1,
                .ifi_flags = IFF_UP,
                .ifi_change = IFF_UP,
        };
        struct nl_msg *m;
        int r;

        m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        if (!m)
                return -ENOMEM;
        r = nlmsg_append(m, &ifi, sizeof ifi, NLMSG_ALIGNTO);
        if (r < 0) {
                nlmsg_free(m);
                return nl_error_to_errno(r);
        }
        return nl_error_to_errno(nl_send_sync(sk, m)); /* frees m */
}
