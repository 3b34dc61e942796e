/*
 * rng.h -- deterministic random numbers: xoshiro256** seeded by splitmix64.
 *
 * Everything random in lutra (simulated latencies, sample data, property
 * tests, synthetic benchmarks) draws from these, seeded explicitly, so the
 * same seed gives the same run, bit for bit. Never rand(), never the clock.
 * The distributions use libm (log, cos, pow): identical results need the
 * same binary and C library.
 */
#ifndef LUTRA_RNG_H
#define LUTRA_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seed a generator. Different streams of one seed are independent, so each
 * part of a program can draw from its own without reshuffling the others. */
void rng_seed(rng *r, uint64_t seed, uint64_t stream);

/* 64 random bits. */
uint64_t rng_next(rng *r);

/* Uniform in (0, 1): never 0 nor 1, so log() of it is finite. */
double rng_uniform(rng *r);

/* 1 with probability p. */
int rng_chance(rng *r, double p);

/* Uniform integer in [lo, hi] (modulo bias below 2^-40 for spans under 2^24). */
int64_t rng_range(rng *r, int64_t lo, int64_t hi);

/* Standard normal (Box-Muller). */
double rng_normal(rng *r);

/* Exponential with the given mean. */
double rng_exp(rng *r, double mean);

/* Pareto with minimum xmin and tail index alpha: many small, few large. */
double rng_pareto(rng *r, double xmin, double alpha);

#endif
