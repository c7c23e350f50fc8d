/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pytest's collection, kept for the next run. Collecting imports every test module (networkx's 5221 tests take
 * about 10 s to collect here), and a run needs it again only when something collection reads has changed: the
 * command, the environment pytest reads, nsrun's plugin, or any file of the project or of the packages the
 * tests live in. The key is a hash over all of these, file contents included (not mtimes: a fresh CI checkout
 * has new mtimes and the same files, and .nsrun/ may be cached between CI runs). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "runner-collect.h"
#include "runner-context.h"

#define HASH_CONTENT_MAX (UINT64_C(1) << 20)   /* larger files count by size and mtime */
#define HASH_FILES_MAX 100000                   /* a tree larger than this is not worth hashing every run */
#define HASH_DEPTH_MAX 32

typedef struct Hasher {
        uint64_t h;     /* FNV-1a, 64 bits: a change detector, not a defence against crafted collisions */
        size_t files;
} Hasher;

static void hash_bytes(Hasher *x, const void *p, size_t n) {
        const unsigned char *c = p;

        for (size_t i = 0; i < n; i++) {
                x->h ^= c[i];
                x->h *= UINT64_C(0x100000001b3);
        }
}

static void hash_str(Hasher *x, const char *s) {
        s = s ?: "";
        hash_bytes(x, s, strlen(s) + 1);
}

static bool skipped(const char *name) {
        return name[0] == '.' || streq(name, "__pycache__") || streq(name, "node_modules");
}

/* Every entry below dfd in name order: its name, and a file's content (or size and mtime), a link's target, a
 * directory's entries. Hidden entries, __pycache__ and node_modules are left out: nsrun's own .nsrun/, VCS
 * data and bytecode do not change what pytest collects. */
static int hash_tree(Hasher *x, int dfd, unsigned depth) {
        struct dirent **names = NULL;
        int n, r = 0;

        if (depth > HASH_DEPTH_MAX)
                return -ELOOP;
        n = scandirat(dfd, ".", &names, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                _cleanup_free_ char *text = NULL;
                size_t size = 0;
                struct stat st;

                if (r < 0 || skipped(name) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (++x->files > HASH_FILES_MAX) {
                        r = -E2BIG;
                        continue;
                }
                hash_str(x, name);
                hash_bytes(x, &st.st_mode, sizeof st.st_mode);
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = sub < 0 ? -errno : hash_tree(x, sub, depth + 1);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t len = readlinkat(dfd, name, target, sizeof target);
                        if (len > 0)
                                hash_bytes(x, target, (size_t) len);
                } else if (S_ISREG(st.st_mode) && (uint64_t) st.st_size <= HASH_CONTENT_MAX &&
                           read_job_file_at(dfd, name, HASH_CONTENT_MAX, &text, &size) >= 0) {
                        /* read as a job's file: at most the limit, however fast a process appends to it (a
                         * server's log in the project), never through a link or from a FIFO put in its place */
                        hash_bytes(x, text, size);
                } else {
                        hash_bytes(x, &st.st_size, sizeof st.st_size);
                        hash_bytes(x, &st.st_mtim, sizeof st.st_mtim);
                }
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

static int hash_dir(Hasher *x, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        hash_str(x, path);
        return fd < 0 ? -errno : hash_tree(x, fd, 0);
}

static bool under(const char *path, const char *dir) {
        size_t n = strlen(dir);
        return strneq(path, dir, n) && (path[n] == '/' || path[n] == '\0' || streq(dir, "/"));
}

/* The outermost package directory holding path (the highest ancestor with an __init__.py), or its directory. */
static char *package_root(const char *path) {
        char *dir = strdup(path), *slash;

        if (!dir)
                return NULL;
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = '\0';
        for (;;) {
                _cleanup_free_ char *init = NULL;
                char *up = strrchr(dir, '/');
                if (!up || up == dir)
                        return dir;
                *up = '\0'; /* the parent: if it is a package too, climb */
                if (asprintf(&init, "%s/__init__.py", dir) < 0)
                        return mfree(dir);
                if (access(init, F_OK) < 0) {
                        *up = '/';
                        return dir;
                }
        }
}

/* The key of a collection: the command, --setup's command and what pytest reads from its environment, nsrun's
 * plugin, the rootdir's tree, and the package trees of tests outside it (--pyargs). doc is the collection it was
 * (or would be). */
static int collect_key(const SourceContext *c, char **command, json_object *doc, uint64_t *ret) {
        static const char *const env[] = { "PATH", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV" };
        Hasher x = { .h = UINT64_C(0xcbf29ce484222325) };
        _cleanup_free_ char *plugin = NULL, *plugin_text = NULL;
        json_object *items, *rootdir_o, *it, *p;
        const char *rootdir;
        char **roots = NULL;
        int r = 0;

        if (!json_object_object_get_ex(doc, "rootdir", &rootdir_o) || !json_object_is_type(rootdir_o, json_type_string) ||
            !json_object_object_get_ex(doc, "items", &items) || !json_object_is_type(items, json_type_array))
                return -EBADMSG;
        rootdir = json_object_get_string(rootdir_o);
        hash_str(&x, "nsrun collection 1");
        for (size_t i = 0; command[i]; i++)
                hash_str(&x, command[i]);
        hash_str(&x, c->cwd);
        hash_str(&x, c->setup); /* --setup's layer lies under the collection's sandbox too */
        for (size_t i = 0; i < ELEMENTSOF(env); i++)
                hash_str(&x, getenv(env[i]));
        if (asprintf(&plugin, "%s/nsrun_pytest.py", c->pytest_plugin_dir) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, plugin, &plugin_text, NULL);
        if (r < 0)
                return r;
        hash_str(&x, plugin_text);
        r = hash_dir(&x, rootdir);
        /* --lf, --ff, --nf, --sw: what the collection selects depends on pytest's cache, which hash_dir() leaves
         * out (a hidden directory) */
        if (r >= 0 && json_get_string(doc, "cache_dir") && json_object_object_get_ex(doc, "cache_read", &p) &&
            json_object_get_boolean(p)) {
                _cleanup_free_ char *values = NULL;
                if (asprintf(&values, "%s/v", json_get_string(doc, "cache_dir")) < 0)
                        return -ENOMEM;
                r = hash_dir(&x, values);
                if (r == -ENOENT)
                        r = 0;
        }
        for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++) {
                _cleanup_free_ char *root = NULL;
                bool seen = false;
                it = json_object_array_get_idx(items, i);
                if (!json_object_object_get_ex(it, "path", &p) || !json_object_is_type(p, json_type_string)) {
                        r = -EBADMSG;
                        break;
                }
                if (under(json_object_get_string(p), rootdir))
                        continue;
                root = package_root(json_object_get_string(p));
                if (!root) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t k = 0; roots && roots[k] && !seen; k++)
                        seen = under(root, roots[k]);
                if (!seen) {
                        r = hash_dir(&x, root);
                        if (r >= 0)
                                r = strv_push(&roots, root);
                }
        }
        strv_free(roots);
        if (r < 0)
                return r;
        *ret = x.h;
        return 0;
}

/* CACHE_DIR/collect.json: { "key": "<hex>", "collection": <the plugin's document> }, replaced by rename. */
int collect_cache_load(const SourceContext *c, char **command, json_object **ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(json_object_putp) json_object *file = NULL;
        json_object *key, *doc;
        char want[32];
        uint64_t h;

        if (!c->cache_dir || asprintf(&path, "%s/collect.json", c->cache_dir) < 0)
                return 0;
        file = json_object_from_file(path);
        if (!file || !json_object_object_get_ex(file, "key", &key) || !json_object_is_type(key, json_type_string) ||
            !json_object_object_get_ex(file, "collection", &doc) || collect_key(c, command, doc, &h) < 0)
                return 0;
        (void) snprintf(want, sizeof want, "%016" PRIx64, h);
        if (!streq(json_object_get_string(key), want))
                return 0;
        *ret = json_object_get(doc);
        return 1;
}

void collect_cache_store(const SourceContext *c, char **command, json_object *doc) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_(json_object_putp) json_object *file = NULL;
        char key[32];
        uint64_t h;

        if (!c->cache_dir || collect_key(c, command, doc, &h) < 0 || asprintf(&path, "%s/collect.json", c->cache_dir) < 0 ||
            asprintf(&tmp, "%s.%d.tmp", path, (int) getpid()) < 0 || !(file = json_object_new_object()))
                return;
        (void) snprintf(key, sizeof key, "%016" PRIx64, h);
        json_object_object_add(file, "key", json_object_new_string(key));
        json_object_object_add(file, "collection", json_object_get(doc));
        if (mkdir_p(c->cache_dir, 0755) < 0 || json_object_to_file_ext(tmp, file, JSON_C_TO_STRING_PLAIN) < 0 ||
            rename(tmp, path) < 0) {
                (void) unlink(tmp);
                log_debug("Cannot keep pytest's collection in %s; the next run collects again", c->cache_dir);
        }
}
