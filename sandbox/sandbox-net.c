/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's network: its loopback interface, up, through libnl-route. */

#include <net/if.h>

#include "netlink-util.h"
#include "sandbox-internal.h"

static void *libnl, *libnl_route;

DLSYM_FUNCTION(nl_socket_alloc);
DLSYM_FUNCTION(nl_socket_free);
DLSYM_FUNCTION(nl_connect);
DLSYM_FUNCTION(rtnl_link_alloc);
DLSYM_FUNCTION(rtnl_link_put);
DLSYM_FUNCTION(rtnl_link_set_ifindex);
DLSYM_FUNCTION(rtnl_link_set_flags);
DLSYM_FUNCTION(rtnl_link_change);

int dlopen_libnl(const char **ret_error) {
        return dlopen_many_sym(&libnl, "libnl-3.so.200", ret_error,
                               DLSYM_ARG(nl_socket_alloc),
                               DLSYM_ARG(nl_socket_free),
                               DLSYM_ARG(nl_connect),
                               NULL) ?:
               dlopen_many_sym(&libnl_route, "libnl-route-3.so.200", ret_error,
                               DLSYM_ARG(rtnl_link_alloc),
                               DLSYM_ARG(rtnl_link_put),
                               DLSYM_ARG(rtnl_link_set_ifindex),
                               DLSYM_ARG(rtnl_link_set_flags),
                               DLSYM_ARG(rtnl_link_change),
                               NULL);
}

int sandbox_preload(void) {
        return dlopen_libnl(NULL);
}

int sandbox_loopback_up(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *lo = NULL, *change = NULL;
        int r;

        r = dlopen_libnl(NULL);
        if (r < 0)
                return r;
        sk = sym_nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = sym_nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        /* A new network namespace's loopback always has index 1 (LOOPBACK_IFINDEX, net/core/dev.c): no need to
         * ask for it by name first. */
        lo = sym_rtnl_link_alloc();
        change = sym_rtnl_link_alloc();
        if (!lo || !change)
                return -ENOMEM;
        sym_rtnl_link_set_ifindex(lo, 1);
        /* Setting IFF_UP on a fresh namespace's loopback makes the kernel add 127.0.0.1/8 and ::1 itself
         * (net/ipv4/devinet.c inetdev_event(), net/ipv6/addrconf.c init_loopback()). */
        sym_rtnl_link_set_flags(change, IFF_UP);
        r = sym_rtnl_link_change(sk, lo, change, 0);
        return nl_error_to_errno(r);
}
