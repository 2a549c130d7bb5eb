// Guest side of bench/op-latency.ts: times each small-file operation on its own and prints the
// distribution, since a mean (all that /proc/self/mountstats gives) hides whether a server is
// uniformly slower or mostly fast with a few long stalls.
//
//   op-latency DIR N LABEL create|stat|unlink
//   create: open(O_CREAT|O_TRUNC) + write 4 KiB + close of DIR/f0..f(N-1) (LOOKUP, CREATE, WRITE)
//   stat:   stat of each (LOOKUP, once the caller remounted to drop the client's caches)
//   unlink: unlink of each (REMOVE)
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int one_op(const char *phase, const char *path, const char *block) {
  if (strcmp(phase, "create") == 0) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return -1;
    int ok = write(fd, block, 4096) == 4096;
    return close(fd) == 0 && ok ? 0 : -1;
  }
  if (strcmp(phase, "stat") == 0) {
    struct stat st;
    return stat(path, &st);
  }
  if (strcmp(phase, "unlink") == 0) return unlink(path);
  fprintf(stderr, "unknown phase %s\n", phase);
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s DIR N LABEL create|stat|unlink\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *label = argv[3], *phase = argv[4];
  int n = atoi(argv[2]);
  if (n <= 0) return 2;
  double *t = malloc(sizeof(double) * n);
  char path[4096], block[4096];
  memset(block, 'x', sizeof block);
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%d", dir, i);
    double t0 = now_us();
    if (one_op(phase, path, block) != 0) {
      perror(path);
      return 1;
    }
    t[i] = now_us() - t0;
  }
  qsort(t, n, sizeof(double), by_value);
  double sum = 0, stalled = 0;
  int stalls = 0;
  for (int i = 0; i < n; i++) {
    sum += t[i];
    if (t[i] > 3000) {
      stalls++;
      stalled += t[i];
    }
  }
  // One line, parsed by op-latency.ts.
  printf("oplat %s %s n=%d mean=%.0f p50=%.0f p90=%.0f p99=%.0f max=%.0f stalls=%d stalled_pct=%.1f\n", label, phase, n,
         sum / n, t[n / 2], t[n * 9 / 10], t[n * 99 / 100], t[n - 1], stalls, 100 * stalled / sum);
  return 0;
}
