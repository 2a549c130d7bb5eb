/*
 * randwrite: N writes of BS bytes at distinct random BS-aligned offsets of an existing file,
 * then one fsync. Used by bench/nfs-bench.ts inside the UML guest, where it starts in ~20 ms
 * (fio takes ~1 s to start there, as long as the workload itself).
 *
 *   randwrite write  FILE FILE_BYTES N BS SEED buffered|direct
 *   randwrite verify FILE FILE_BYTES N BS SEED      (re-reads what `write` wrote; exit 1 on mismatch)
 *
 * Offsets are a seeded partial Fisher-Yates shuffle of the file's blocks, so every server sees
 * the same sequence; each block's content is derived from the seed and the op index.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t next_random(void) {
  /* xorshift64*: deterministic, fast, good enough to scatter offsets. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static void fill_block(unsigned char *buf, size_t bs, uint64_t seed, uint64_t op) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + op + 1;
  for (size_t i = 0; i + 8 <= bs; i += 8) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    memcpy(buf + i, &x, 8);
  }
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: %s write|verify FILE FILE_BYTES N BS SEED [buffered|direct]\n", argv[0]);
    return 2;
  }
  int verify = strcmp(argv[1], "verify") == 0;
  const char *path = argv[2];
  uint64_t file_bytes = strtoull(argv[3], NULL, 10);
  uint64_t n = strtoull(argv[4], NULL, 10);
  size_t bs = (size_t)strtoull(argv[5], NULL, 10);
  uint64_t seed = strtoull(argv[6], NULL, 10);
  int direct = argc > 7 && strcmp(argv[7], "direct") == 0;
  uint64_t blocks = file_bytes / bs;
  if (bs == 0 || bs % 8 != 0 || n > blocks) {
    fprintf(stderr, "need 0 < N <= FILE_BYTES/BS and BS a multiple of 8\n");
    return 2;
  }

  uint32_t *order = malloc(blocks * sizeof *order);
  unsigned char *buf, *expect = malloc(bs);
  if (!order || !expect || posix_memalign((void **)&buf, 4096, bs) != 0) die("malloc");
  for (uint64_t i = 0; i < blocks; i++) order[i] = (uint32_t)i;
  rng_state = seed ? seed : 1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t j = i + next_random() % (blocks - i);
    uint32_t t = order[i]; order[i] = order[j]; order[j] = t;
  }

  int flags = verify ? O_RDONLY : O_WRONLY | (direct ? O_DIRECT : 0);
  int fd = open(path, flags);
  if (fd < 0) die("open");
  for (uint64_t i = 0; i < n; i++) {
    off_t off = (off_t)order[i] * (off_t)bs;
    if (verify) {
      fill_block(expect, bs, seed, i);
      if (pread(fd, buf, bs, off) != (ssize_t)bs) die("pread");
      if (memcmp(buf, expect, bs) != 0) {
        fprintf(stderr, "block at offset %lld differs from op %llu\n", (long long)off, (unsigned long long)i);
        return 1;
      }
    } else {
      fill_block(buf, bs, seed, i);
      if (pwrite(fd, buf, bs, off) != (ssize_t)bs) die("pwrite");
    }
  }
  if (!verify && fsync(fd) != 0) die("fsync");
  if (close(fd) != 0) die("close");
  return 0;
}
