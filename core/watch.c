/*
 * watch.c -- file changes through inotify on the loop (watch.h).
 *
 * One inotify descriptor, read by a libevent event on the loop's base. Each
 * watched file is an entry: its folder's watch descriptor (shared by the
 * files of one folder: inotify_add_watch returns the same one) and its base
 * name. An event naming an entry (re)starts the entry's quiet timer; the
 * timer's firing is the report. A timer per entry, rather than one for all,
 * so a file saved while another waits does not delay the other.
 */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#include "grow.h"
#include "log.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)

typedef struct watch_entry {
    watch *w;
    char *path;         /* as given */
    char *base;         /* the file's name in its folder */
    int wd;             /* the folder's watch */
    loop_timer *quiet;  /* pending report, NULL when none */
} watch_entry;

struct watch {
    loop *lp;
    int fd;
    struct event *ev;
    int64_t quiet_ns;
    watch_fn fn;
    void *ud;
    watch_entry **entries;  /* each its own allocation: timers point at them */
    size_t n, cap;
};

/* ---- Reports ---- */

static void watch_quiet_over(loop_timer *t, void *ud)
{
    watch_entry *e = ud;

    (void)t;
    e->quiet = NULL; /* one-shot: the loop frees it after this call */
    e->w->fn(e->w->ud, e->path);
}

/* A change to e: its report waits for quiet_ns without another. */
static void watch_touch(watch_entry *e)
{
    char err[256];

    if (e->quiet)
        loop_timer_cancel(e->quiet);
    e->quiet = loop_timer_add(e->w->lp, e->w->quiet_ns, 0, watch_quiet_over, e, err, sizeof err);
    if (!e->quiet)
        log_write(LOG_ERROR, "watch", "cannot time the report of a change path=%s error=\"%s\"",
                  e->path, err);
}

static void watch_on_event(watch *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        log_write(LOG_WARN, "watch", "inotify queue overflowed: every watched file counts as "
                                     "changed");
        for (size_t i = 0; i < w->n; i++)
            watch_touch(w->entries[i]);
        return;
    }
    if (!(ev->mask & WATCH_MASK) || ev->len == 0)
        return;
    for (size_t i = 0; i < w->n; i++)
        if (w->entries[i]->wd == ev->wd && !strcmp(w->entries[i]->base, ev->name))
            watch_touch(w->entries[i]);
}

/* The descriptor is readable: every event queued. */
static void watch_on_readable(evutil_socket_t fd, short what, void *ud)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    watch *w = ud;
    ssize_t n;

    (void)what;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            watch_on_event(w, ev);
            p += sizeof *ev + ev->len;
        }
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        log_write(LOG_ERROR, "watch", "cannot read file events error=\"%s\"", strerror(errno));
}

/* ---- Life ---- */

watch *watch_new(loop *lp, int64_t quiet_ns, watch_fn fn, void *ud, char *err, size_t errlen)
{
    watch *w = calloc(1, sizeof *w);

    if (!w) {
        snprintf(err, errlen, "watch: out of memory");
        return NULL;
    }
    w->lp = lp;
    w->quiet_ns = quiet_ns;
    w->fn = fn;
    w->ud = ud;
    if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        snprintf(err, errlen, "watch: inotify: %s", strerror(errno));
        free(w);
        return NULL;
    }
    w->ev = event_new(loop_base(lp), w->fd, EV_READ | EV_PERSIST, watch_on_readable, w);
    if (!w->ev || event_add(w->ev, NULL) < 0) {
        snprintf(err, errlen, "watch: libevent could not watch the inotify descriptor");
        watch_free(w);
        return NULL;
    }
    return w;
}

/* Split path into its folder (into dir) and its base name. */
static const char *watch_split(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        snprintf(dir, cap, ".");
        return path;
    }
    if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    return slash + 1;
}

int watch_add(watch *w, const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *base = watch_split(path, dir, sizeof dir);
    watch_entry **grown, *e;
    int wd;

    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->entries[i]->path, path))
            return 0;
    if (!*base) {
        snprintf(err, errlen, "watch %s: a file, not a folder, is watched", path);
        return -1;
    }
    if ((wd = inotify_add_watch(w->fd, dir, WATCH_MASK)) < 0) {
        snprintf(err, errlen, "watch %s: cannot watch the folder %s: %s", path, dir,
                 strerror(errno));
        return -1;
    }
    if (!(grown = grow_capacity(w->entries, &w->cap, w->n + 1, sizeof *grown, 4))) {
        snprintf(err, errlen, "watch %s: out of memory", path);
        return -1;
    }
    w->entries = grown;
    if (!(e = calloc(1, sizeof *e)) || !(e->path = strdup(path))) {
        free(e);
        snprintf(err, errlen, "watch %s: out of memory", path);
        return -1;
    }
    e->w = w;
    e->wd = wd;
    e->base = e->path + (base - path);
    w->entries[w->n++] = e;
    return 0;
}

void watch_free(watch *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        if (w->entries[i]->quiet)
            loop_timer_cancel(w->entries[i]->quiet);
        free(w->entries[i]->path);
        free(w->entries[i]);
    }
    free(w->entries);
    if (w->ev)
        event_free(w->ev);
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}
