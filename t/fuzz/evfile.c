/*
 * Fuzz target: the native event file reader on any bytes. The input is
 * written to a file and read through the replay (which also applies book
 * records), so every reader path sees hostile headers and records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "instrument.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    const char *paths[1] = {path};
    char err[512];
    instrument_registry *reg;
    replay *rp;
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof path, "/tmp/lutra-fuzz-evfile-%d.lev", (int)getpid());
    if (!(f = fopen(path, "wb")))
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    if (!(reg = instrument_registry_new()))
        abort();
    if ((rp = replay_open(paths, 1, reg, err, sizeof err))) {
        while (replay_next(rp))
            ;
        replay_close(rp);
    }
    instrument_registry_free(reg);
    return 0;
}
