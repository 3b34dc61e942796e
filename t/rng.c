/*
 * The deterministic generator: same seed, same numbers; streams apart;
 * distributions within their bounds and near their means (the seed is fixed,
 * so these checks give the same answer every run).
 */
#include <math.h>

#include "rng.h"
#include "tap.h"

#define N 200000

int main(void)
{
    rng a, b, c;
    int same = 1, differ = 0, in_unit = 1, in_range = 1, hit_lo = 0, hit_hi = 0;
    double sum_u = 0, sum_n = 0, sum_n2 = 0, sum_e = 0, min_p = 1e300;
    int chance = 0;

    plan(11);
    rng_seed(&a, 42, 0);
    rng_seed(&b, 42, 0);
    rng_seed(&c, 42, 1);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a), y = rng_next(&b), z = rng_next(&c);
        same &= x == y;
        differ += x != z;
    }
    ok(same, "the same seed and stream give the same sequence");
    ok(differ > 990, "another stream of the same seed gives another sequence");
    rng_seed(&a, 7, 0);
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&a);
        int64_t r = rng_range(&a, -3, 3);
        in_unit &= u > 0.0 && u < 1.0;
        in_range &= r >= -3 && r <= 3;
        hit_lo |= r == -3;
        hit_hi |= r == 3;
        sum_u += u;
        double nv = rng_normal(&a);
        sum_n += nv;
        sum_n2 += nv * nv;
        sum_e += rng_exp(&a, 2.5);
        double p = rng_pareto(&a, 0.5, 1.5);
        if (p < min_p)
            min_p = p;
        chance += rng_chance(&a, 0.25);
    }
    ok(in_unit, "uniform stays inside (0, 1)");
    ok(in_range && hit_lo && hit_hi, "range stays inside [lo, hi] and reaches both ends");
    ok(fabs(sum_u / N - 0.5) < 0.01, "uniform mean near 1/2 (%.4f)", sum_u / N);
    ok(fabs(sum_n / N) < 0.02, "normal mean near 0 (%.4f)", sum_n / N);
    ok(fabs(sum_n2 / N - 1.0) < 0.02, "normal variance near 1 (%.4f)", sum_n2 / N);
    ok(fabs(sum_e / N - 2.5) < 0.05, "exponential mean near 2.5 (%.4f)", sum_e / N);
    ok(min_p >= 0.5, "pareto never below its minimum (%.4f)", min_p);
    ok(fabs((double)chance / N - 0.25) < 0.01, "chance(0.25) near a quarter (%.4f)",
       (double)chance / N);
    rng_seed(&a, 1, 0);
    is_int(rng_range(&a, 5, 5), 5, "a range of one value gives it");
    return done();
}
