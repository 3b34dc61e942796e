/*
 * csv.h -- split one CSV line into fields, in place.
 *
 * Enough CSV for market data files: comma separated, optional double quotes
 * around a field ("" inside quotes is one quote), no line breaks inside
 * fields. Fields point into the line.
 */
#ifndef LUTRA_CSV_H
#define LUTRA_CSV_H

#include <stddef.h>

typedef struct csv_field {
    const char *s;
    size_t len;
    size_t col; /* 1-based byte column of the field's start, for messages */
} csv_field;

/*
 * Split line[0..len) into at most max fields (quotes are removed in place,
 * so line is modified when a field has "").
 * @return the number of fields (more than max means the rest were dropped:
 * the count is still the true one), or -1 on an unterminated quote.
 */
int csv_split(char *line, size_t len, csv_field *fields, int max);

/* 1 if the field equals name, ignoring ASCII case and surrounding spaces. */
int csv_field_is(const csv_field *f, const char *name);

/* Index of the first of fields[0..n) that csv_field_is name, or -1. */
int csv_find(const csv_field *fields, int n, const char *name);

#endif
