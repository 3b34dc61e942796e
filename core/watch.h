/*
 * watch.h -- files watched for changes, on the loop (inotify).
 *
 * A watched file that is written and closed, moved into place (how most
 * editors save: write a new file, rename it over the old one) or created
 * is reported once no further change to it has come for a quiet period,
 * so a burst of writes is one report, made after the last of them.
 *
 * The folder of each file is watched, not the file itself: a watch on the
 * file would follow the old inode away when an editor renames the new
 * version over it. Events for other files of the folder are ignored. If the
 * kernel's event queue overflows, every watched file is reported.
 *
 * Everything runs on the loop's thread; the callback may do anything but
 * free the watch.
 */
#ifndef LUTRA_WATCH_H
#define LUTRA_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

typedef struct watch watch;

/* path: as given to watch_add. */
typedef void (*watch_fn)(void *ud, const char *path);

/* quiet_ns: how long a file must stay unchanged before it is reported.
 * @return the watch, or NULL with err set. */
watch *watch_new(loop *lp, int64_t quiet_ns, watch_fn fn, void *ud, char *err, size_t errlen);

/* Watch path (its folder must exist; the file need not). Adding a path
 * twice watches it once. @return 0, or -1 with err naming the folder. */
int watch_add(watch *w, const char *path, char *err, size_t errlen);

/* Stop watching and free. NULL is accepted. */
void watch_free(watch *w);

#endif
