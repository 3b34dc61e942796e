/*
 * Growing arrays: old elements kept, new ones zeroed, capacity doubling,
 * overflow refused with the array unchanged.
 */
#include <stdint.h>
#include <stdlib.h>

#include "grow.h"
#include "tap.h"

int main(void)
{
    size_t n = 0, cap = 0;
    int *a = NULL, *b, zeroed = 1;
    long *v = NULL, *w;

    plan(10);
    a = grow_to_index(a, &n, 3, sizeof *a, 8);
    ok(a && n == 11, "an empty array grows to cover index 3, plus slack (n %zu)", n);
    for (size_t i = 0; i < n; i++)
        zeroed &= a[i] == 0;
    ok(zeroed, "new elements are zeroed");
    a[3] = 42;
    ok(grow_to_index(a, &n, 10, sizeof *a, 8) == a && n == 11, "an index it covers changes nothing");
    a = grow_to_index(a, &n, 40, sizeof *a, 8);
    ok(a && n == 48 && a[3] == 42 && a[40] == 0 && a[47] == 0, "growing keeps old elements");
    b = grow_to_index(a, &n, SIZE_MAX / 2, sizeof *a, 8);
    ok(b == NULL && n == 48 && a[3] == 42, "an impossible size is refused, the array unchanged");
    free(a);

    v = grow_capacity(v, &cap, 1, sizeof *v, 16);
    ok(v && cap == 16, "capacity starts at first (16)");
    w = grow_capacity(v, &cap, 16, sizeof *v, 16);
    ok(w == v && cap == 16, "a need within capacity changes nothing");
    v = grow_capacity(v, &cap, 17, sizeof *v, 16);
    ok(v && cap == 32, "then doubles (32)");
    v = grow_capacity(v, &cap, 1000, sizeof *v, 16);
    ok(v && cap == 1024, "to the first power of two past the need (1024)");
    w = grow_capacity(v, &cap, SIZE_MAX / 4, sizeof *v, 16);
    ok(w == NULL && cap == 1024, "an impossible capacity is refused, unchanged");
    free(v);
    return done();
}
