/*
 * grow.c -- growing arrays (grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *grow_to_index(void *arr, size_t *n, size_t id, size_t size, size_t slack)
{
    size_t want;
    char *p;

    if (id < *n)
        return arr;
    want = id + (slack ? slack : 1);
    if (want < id || want > SIZE_MAX / size)
        return NULL;
    if (!(p = realloc(arr, want * size)))
        return NULL;
    memset(p + *n * size, 0, (want - *n) * size);
    *n = want;
    return p;
}

void *grow_capacity(void *arr, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return arr;
    ncap = *cap ? *cap : (first ? first : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / size || !(p = realloc(arr, ncap * size)))
        return NULL;
    *cap = ncap;
    return p;
}
