/*
 * ringvm-workload: a deterministic CPU benchmark run inside the guest and
 * natively on the host (bench/cpu.sh, tests/system/).
 *
 *   ringvm-workload [full|quick]
 *
 * Phases (each self-timed with CLOCK_MONOTONIC), one line each:
 *   crc32 <8 hex digits> <ms> ms     table-driven CRC-32 (IEEE) over pseudo-random data
 *   sieve <prime count> <ms> ms      sieve of Eratosthenes
 *   total <ms> ms
 * The first two fields of the crc32 and sieve lines depend only on the size
 * selected, never on the machine: compare them between guest and host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CRC_BUF (1u << 20)  /* 1 MiB of data, hashed repeatedly */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t phase_crc(unsigned passes)
{
	uint8_t *buf = malloc(CRC_BUF);
	if (!buf) {
		perror("ringvm-workload: malloc");
		exit(1);
	}
	uint64_t x = 0x9E3779B97F4A7C15ull;  /* xorshift64 */
	for (size_t i = 0; i < CRC_BUF; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 32);
	}
	crc_init();
	uint32_t crc = 0;
	for (unsigned i = 0; i < passes; i++) {
		buf[i % CRC_BUF] ^= (uint8_t)i;  /* each pass hashes different data */
		crc = crc_update(crc, buf, CRC_BUF);
	}
	free(buf);
	return crc;
}

static unsigned long phase_sieve(unsigned long limit)
{
	uint8_t *composite = calloc(limit + 1, 1);
	if (!composite) {
		perror("ringvm-workload: calloc");
		exit(1);
	}
	unsigned long count = 0;
	for (unsigned long i = 2; i <= limit; i++) {
		if (composite[i])
			continue;
		count++;
		for (unsigned long j = i * i; j <= limit; j += i)
			composite[j] = 1;
	}
	free(composite);
	return count;
}

int main(int argc, char **argv)
{
	unsigned passes = 32;           /* MiB hashed */
	unsigned long limit = 16000000; /* sieve bound */

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "full") && strcmp(argv[1], "quick"))) {
		fprintf(stderr, "usage: ringvm-workload [full|quick]\n");
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "quick")) {
		passes = 2;
		limit = 400000;
	}

	double t0 = now_ms();
	uint32_t crc = phase_crc(passes);
	double t1 = now_ms();
	printf("crc32 %08x %.1f ms\n", crc, t1 - t0);
	fflush(stdout);
	unsigned long primes = phase_sieve(limit);
	double t2 = now_ms();
	printf("sieve %lu %.1f ms\n", primes, t2 - t1);
	printf("total %.1f ms\n", t2 - t0);
	return 0;
}
