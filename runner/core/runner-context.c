/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "escape.h"
#include "fileio.h"

#include "runner-context.h"

void source_done(Source *s) {
        job_list_done(&s->jobs);
        strv_free(s->pytest_options);
        free(s->collect_log);
        free(s->pytest_cache_dir);
        free(s->test_places);
        free(s->pytest_hypothesis_db);
        free(s->pytest_imports);
        *s = (Source) {};
}

size_t source_test_place(const Source *s, const char *nodeid) {
        uint64_t h = fnv1a64(nodeid);
        size_t lo = 0, hi = s->n_test_places;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->test_places[mid].hash < h)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < s->n_test_places && s->test_places[lo].hash == h ? s->test_places[lo].index : SIZE_MAX;
}

void run_options_done(RunOptions *o) {
        sandbox_options_done(&o->sandbox);
        strv_free(o->serial_globs);
        free(o->jobs_file);
        free(o->shard);
        free(o->setup);
        free(o->junit_path);
        free(o->json_path);
        free(o->log_dir);
        free(o->cache_dir);
        free(o->joblog_path);
        settings_free(o->settings, o->n_settings);
}

void run_context_done(RunContext *rc) {
        rc->cgroups = cgroup_manager_free(rc->cgroups); /* kills and removes what is left of the jobs */
        if (rc->run_dir)
                (void) rm_rf_at(AT_FDCWD, rc->run_dir);
        if (rc->setup_dir)
                (void) rm_rf_at(AT_FDCWD, rc->setup_dir);
        source_done(&rc->src);
        rc->order = mfree(rc->order);
        rc->run_dir = mfree(rc->run_dir);
        rc->collect_dir = mfree(rc->collect_dir);
        rc->rewrite_dir = mfree(rc->rewrite_dir);
        rc->cwd = mfree(rc->cwd);
        rc->setup_dir = mfree(rc->setup_dir);
        rc->null_fd = safe_close(rc->null_fd);
        if (rc->stdout_fd != STDOUT_FILENO)
                rc->stdout_fd = safe_close(rc->stdout_fd);
        rc->source.sigfd = safe_close(rc->source.sigfd);
}
