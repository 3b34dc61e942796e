/*
 * cmd_recording.h -- a live session's market data recorded to a capture:
 * what `lutra record` does, and what `lutra run --record` does beside
 * trading (docs/record.md).
 *
 * The connectors hand every market message to the recorder (recorder.h)
 * before their own decode sees it (live_options.record); a loop timer
 * flushes it every second, and logs each new file of a rotating recording.
 * A message that cannot be written stops the session (live_request_stop):
 * a capture with a hole in it would not replay what the session saw.
 *
 * Order of use: cmd_recording_open, cmd_recording_hook (on the
 * live_options), live_new, cmd_recording_attach, live_run, live_free,
 * cmd_recording_close. Everything runs on the loop's thread.
 */
#ifndef LUTRA_CMD_RECORDING_H
#define LUTRA_CMD_RECORDING_H

#include <getopt.h>
#include <stddef.h>

#include "live.h"
#include "recorder.h"

typedef struct cmd_recording cmd_recording;

/* The rotation options, for a command's getopt_long table, and their usage. */
enum { CMD_RECORDING_OPT_ROTATE_MB = 0x100, CMD_RECORDING_OPT_ROTATE_HOURLY };
#define CMD_RECORDING_LONG_OPTIONS                                                           \
    {"rotate-mb", required_argument, NULL, CMD_RECORDING_OPT_ROTATE_MB},                     \
        {"rotate-hourly", no_argument, NULL, CMD_RECORDING_OPT_ROTATE_HOURLY}
#define CMD_RECORDING_USAGE                                                                  \
    "      --rotate-mb N    a new file when the current one reaches N MiB\n"                   \
    "                       (FILE's name gets .0000, .0001 ... before its extension)\n"        \
    "      --rotate-hourly  a new file every UTC hour (.YYYYMMDDHH)\n"

/*
 * getopt_long's answer c with its optarg: one of the rotation options sets
 * ro. @return 1 when c was one of them, 0 when it was not, -1 for a bad
 * value (err says which and why).
 */
int cmd_recording_option(int c, const char *arg, recorder_options *ro, char *err,
                         size_t errlen);

/* Open the capture (recorder_open at the wall clock's hour).
 * @return it, or NULL with err naming the file and the reason. */
cmd_recording *cmd_recording_open(const char *path, const recorder_options *ro, char *err,
                                  size_t errlen);

/* Point lo's record hook at the capture. */
void cmd_recording_hook(cmd_recording *r, live_options *lo);

/* Flush every second on lv's loop; a failure stops lv.
 * @return 0, or -1 with err set. */
int cmd_recording_attach(cmd_recording *r, live *lv, char *err, size_t errlen);

/*
 * Log what was recorded, finish the file and free r (after live_free: the
 * flush timer went with the loop). NULL is accepted.
 * @return 0, or -1 with err set when a write failed during the session or
 * the file could not be finished.
 */
int cmd_recording_close(cmd_recording *r, char *err, size_t errlen);

#endif
