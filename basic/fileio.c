/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (allocated - size < 4096) {
                        size_t m = allocated ? allocated * 2 : 8192;
                        char *p = realloc(buf, m);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = m;
                }
                n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int open_job_file_at(int dirfd, const char *path, struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

int read_job_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        fd = open_job_file_at(dirfd, path, &st);
        if (fd < 0)
                return fd;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        /* what fstat() said, plus one byte to see a file that grew since; never more than max + 1 */
        buf = malloc((size_t) st.st_size + 2);
        if (!buf)
                return -ENOMEM;
        while (size <= (size_t) st.st_size) {
                ssize_t n = read(fd, buf + size, (size_t) st.st_size + 1 - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (size > max)
                return -EFBIG;
        buf[size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int copy_job_file_at(int dirfd, const char *path, uint64_t max, int to_dir, const char *to_name) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        struct stat st;
        int r;

        in = open_job_file_at(dirfd, path, &st);
        if (in < 0)
                return in;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        out = openat(to_dir, to_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return -errno;
        r = copy_fd(in, out, max);
        if (r < 0)
                (void) unlinkat(to_dir, to_name, 0);
        return r;
}

const char *job_file_error(int r) {
        switch (r) {
        case -ELOOP:
                return "is a symbolic link";
        case -EISDIR:
                return "is a directory";
        case -EBADFD:
                return "is not a regular file (a FIFO, socket or device)";
        case -EFBIG:
                return "is larger than 64 MiB";
        default:
                return strerror(-r);
        }
}

int read_one_line_file_at(int dirfd, const char *path, char **ret) {
        char *buf;
        int r;

        r = read_full_file_at(dirfd, path, &buf, NULL);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        *ret = buf;
        return 0;
}

int write_string_file_at(int dirfd, const char *path, const char *s) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(s);
        ssize_t k;

        fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        k = write(fd, s, n);
        if (k < 0)
                return -errno;
        if ((size_t) k != n)
                return -EIO;
        return 0;
}

static int rm_rf_children(int fd) {
        DIR *d;
        struct dirent *de;
        struct stat root;
        int r = 0;

        if (fstat(fd, &root) < 0) {
                (void) close(fd);
                return -errno;
        }
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int q;

                        if (st.st_dev != root.st_dev) /* a mount point: never descend into other filesystems */
                                continue;
                        /* overlayfs's work dir holds a mode-000 "work" directory: make it ours to open first */
                        if ((st.st_mode & 0700) != 0700)
                                (void) fchmodat(dirfd(d), de->d_name, 0700, 0);
                        q = rm_rf_at(dirfd(d), de->d_name);
                        if (q < 0 && r == 0)
                                r = q;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        (void) closedir(d);
        return r;
}

int rm_rf_at(int dirfd, const char *path) {
        int fd, r;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOTDIR)
                        return RET_NERRNO(unlinkat(dirfd, path, 0));
                return errno == ENOENT ? 0 : -errno;
        }
        r = rm_rf_children(fd);
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int opendir_at(int dirfd, const char *path, DIR **ret) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        *ret = d;
        return 0;
}

int mkdir_p(const char *path, unsigned mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int copy_fd(int in, int out, uint64_t max) {
        char buf[65536];

        for (uint64_t done = 0;;) {
                ssize_t n = read(in, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                if ((uint64_t) n > max - done)
                        return -EFBIG;
                done += (uint64_t) n;
                for (ssize_t off = 0, w; off < n; off += w) {
                        w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                w = 0;
                        else if (w < 0)
                                return -errno;
                }
        }
}
