/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend for --mem-cap off where no cgroup can be made: jobs exist, cap nothing and measure nothing, so
 * callers need no special case. The runner still has the jobs' pids and rusage. */

#include <errno.h>

#include "cgroup-internal.h"

static void none_manager_done(CgroupManager *m) {
}

static int none_job_create(CgroupJob *j, const CgroupLimits *limits) {
        return 0;
}

static int none_job_fd(CgroupJob *j) {
        return -EOPNOTSUPP;
}

static int none_job_attach(CgroupJob *j, pid_t pid) {
        return 0;
}

static int none_job_sample(CgroupJob *j) {
        return 0;
}

static int none_job_stats(CgroupJob *j, CgroupStats *ret) {
        *ret = (CgroupStats) {};
        return 0;
}

static int none_job_kill(CgroupJob *j) {
        return 0;
}

static int none_job_remove(CgroupJob *j) {
        return 0;
}

static int none_job_sockets_charged(CgroupJob *j, char **ret_why) {
        return -ENOMEDIUM;
}

const CgroupOps cgroup_none_ops = {
        .manager_done = none_manager_done,
        .job_create = none_job_create,
        .job_fd = none_job_fd,
        .job_attach = none_job_attach,
        .job_sample = none_job_sample,
        .job_stats = none_job_stats,
        .job_kill = none_job_kill,
        .job_remove = none_job_remove,
        .job_sockets_charged = none_job_sockets_charged,
};
