/*
 * lineread.h -- read a text file line by line, plain or gzip (zlib detects
 * which), with JSON_PADDING spare bytes after every line so the JSON facade
 * can parse it in place.
 */
#ifndef LUTRA_LINEREAD_H
#define LUTRA_LINEREAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct lineread lineread;

/* @return the reader, or NULL with err set. path "-" is standard input. */
lineread *lineread_open(const char *path, char *err, size_t errlen);
void lineread_close(lineread *lr);

/*
 * The next line without its "\n" or "\r\n", NUL-terminated, with at least
 * JSON_PADDING readable bytes after it; valid until the next call.
 * @return 1 and *line, *len set; 0 at the end; -1 on a read error (err set).
 */
int lineread_next(lineread *lr, const char **line, size_t *len, char *err, size_t errlen);

/*
 * 1 once the end was reached in a gzip stream cut short (a recording whose
 * writer was killed): lineread_next returned every whole line before the
 * cut, dropped the partial one, then 0. The caller decides whether to warn.
 */
int lineread_truncated(const lineread *lr);

/* Number of the line last returned, from 1. */
uint64_t lineread_lineno(const lineread *lr);

/* Compressed bytes consumed so far and the file's size, for progress. */
uint64_t lineread_offset(const lineread *lr);
uint64_t lineread_file_size(const lineread *lr);

#endif
