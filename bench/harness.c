/* lamarrc benchmark harness: dlopens the lamarrc library and the scikinC baseline library,
 * times their C entry points on the check rows of examples/tracking/<model>/check, measures the
 * stack one lamarrc call touches, and the single-core FMA peak of this machine.
 * It prints nothing but progress on stderr and writes one JSON file (--json); the table is made
 * by report.py. There are no timing assertions: numbers are recorded, never judged.
 *
 * Build: cc -O2 -mavx2 -mfma -o harness harness.c -ldl -lpthread -lm
 *
 * Timing method (per-row entry points):
 *   - the 256 check rows are cycled (row r = call index mod 256), so the inputs stay in L1/L2
 *     as they would for a per-particle call in a simulation loop;
 *   - warm-up, then REPS repetitions of CALLS calls; each repetition is timed as a whole with
 *     CLOCK_MONOTONIC and gives ns/call; the reported figure is the median over repetitions;
 *   - when two libraries are compared, repetitions alternate A, B, A, B, ... in this process,
 *     so that frequency changes and neighbours' noise hit both sides equally.
 * Batched entry points (lamarrc NAME_batch / NAME_dnn_batch) are timed the same way with
 * batches of 1, 16 and 256 rows (≥ CALLS rows per repetition) and reported as ns per row; the
 * three batch sizes alternate within each repetition.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

typedef float *(*row2_fn)(float *, const float *);
typedef float *(*row3_fn)(float *, const float *, const float *);
typedef float *(*batch3_fn)(float *, const float *, size_t);
typedef float *(*batch4_fn)(float *, const float *, const float *, size_t);

/* ------------------------------------------------------------------------------------------ */
/* small utilities                                                                             */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double *c = malloc(n * sizeof(double));
    memcpy(c, v, n * sizeof(double));
    qsort(c, n, sizeof(double), cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static double vmin(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; ++i) m = v[i] < m ? v[i] : m;
    return m;
}
static double vmax(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
    return m;
}

static void die(const char *what, const char *arg) {
    fprintf(stderr, "harness: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

/* Minimal .npy reader: version 1/2/3, little-endian <f4 or <f8, C order, 2-D (or 1-D). */
typedef struct {
    int rows, cols, is_f64;
    void *data;
} Npy;

static int npy_load(const char *path, Npy *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) die("not a .npy file", path);
    size_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (pre[9] << 8);
    } else {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) die("short .npy header", path);
        hlen = pre[8] | (pre[9] << 8) | ((size_t)b[0] << 16) | ((size_t)b[1] << 24);
    }
    char *h = calloc(hlen + 1, 1);
    if (fread(h, 1, hlen, f) != hlen) die("short .npy header", path);
    if (strstr(h, "'fortran_order': True")) die("Fortran-order .npy not supported", path);
    if (strstr(h, "'<f4'")) out->is_f64 = 0;
    else if (strstr(h, "'<f8'")) out->is_f64 = 1;
    else die("dtype must be <f4 or <f8", path);
    char *s = strstr(h, "'shape': (");
    if (!s) die("no shape in .npy header", path);
    s += strlen("'shape': (");
    out->rows = (int)strtol(s, &s, 10);
    out->cols = 1;
    if (*s == ',') {
        ++s;
        while (*s == ' ') ++s;
        if (*s != ')') out->cols = (int)strtol(s, &s, 10);
    }
    size_t n = (size_t)out->rows * out->cols, es = out->is_f64 ? 8 : 4;
    out->data = aligned_alloc(64, ((n * es) + 63) / 64 * 64);
    if (fread(out->data, es, n, f) != n) die("short .npy data", path);
    fclose(f);
    free(h);
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* models and entry points                                                                     */

typedef struct {
    const char *name;
    int rows, ni, nz, no, ndnn_in;
    float *in, *dnn_in, *noise, *dnn_expected;
    double *expected;
    float *sk_dnn_in; /* scikinC NAME_dnn input: [dnn_input | noise] concatenated per row */
} Model;

typedef struct {
    char sym[160];
    void *fn;
    int nargs;        /* row: 2 or 3 (with noise); batch: 3 or 4 */
    int uses_dnn_in;  /* feed dnn_input (network only) rather than raw input */
    int concat_noise; /* scikinC network: noise concatenated into the input row */
    int uses_netout;  /* feed dnn_expected rows (input of the tY inverse step) */
} Entry;

static int entry(void *lib, Entry *e, const char *sym, int nargs, int uses_dnn_in, int concat) {
    memset(e, 0, sizeof *e);
    snprintf(e->sym, sizeof e->sym, "%s", sym);
    e->fn = lib ? dlsym(lib, sym) : NULL;
    e->nargs = nargs;
    e->uses_dnn_in = uses_dnn_in;
    e->concat_noise = concat;
    return e->fn != NULL;
}

/* lamarrc_metadata: "function SYM inputs W0[,W1] outputs N" per row function. Returns the
 * number of input arrays of SYM (0 if absent) and their widths. */
static const char *g_meta;
static int meta_inputs(const char *sym, int w[2]) {
    if (!g_meta) return 0;
    char key[200];
    snprintf(key, sizeof key, "function %s inputs ", sym);
    for (const char *p = g_meta; (p = strstr(p, key)); p += 1) {
        if (p != g_meta && p[-1] != '\n') continue;
        const char *q = p + strlen(key);
        char *end;
        w[0] = (int)strtol(q, &end, 10);
        if (*end == ',') {
            w[1] = (int)strtol(end + 1, &end, 10);
            return 2;
        }
        return 1;
    }
    return 0;
}

/* A lamarrc entry point. `network_only` says which rows to feed (dnn_input vs raw input);
 * the metadata says how the noise is passed: as its own array (NAME: in, noise) or
 * concatenated into one row (NAME_dnn: the scikinC-style [conditions | noise] row). */
static int lam_entry(void *lib, Entry *e, const char *row_sym, int batch, const Model *m, int network_only) {
    char sym[160];
    snprintf(sym, sizeof sym, "%s%s", row_sym, batch ? "_batch" : "");
    int w[2] = {0, 0};
    int n = meta_inputs(row_sym, w);
    int gen = m->nz > 0;
    int concat = 0, nargs;
    if (n == 0) n = gen ? 2 : 1; /* no metadata: assume the documented NAME signature */
    if (n == 2) nargs = 3;
    else {
        nargs = 2;
        if (gen && w[0] == m->ndnn_in + m->nz) concat = 1;
        else if (gen) die("cannot tell how the noise is passed to", row_sym);
    }
    return entry(lib, e, sym, nargs + (batch ? 1 : 0), network_only, concat);
}

static volatile float g_sink;

static inline const float *row_input(const Model *m, const Entry *e, int r) {
    if (e->uses_netout) return m->dnn_expected + (size_t)r * m->no;
    if (e->concat_noise) return m->sk_dnn_in + (size_t)r * (m->ndnn_in + m->nz);
    if (e->uses_dnn_in) return m->dnn_in + (size_t)r * m->ndnn_in;
    return m->in + (size_t)r * m->ni;
}

static inline void call_row(const Entry *e, const Model *m, float *out, int r) {
    const float *x = row_input(m, e, r);
    if (e->uses_netout) {
        ((row2_fn)e->fn)(out, x);
        return;
    }
    if (e->nargs == 3) ((row3_fn)e->fn)(out, x, m->noise + (size_t)r * m->nz);
    else ((row2_fn)e->fn)(out, x);
}

static inline void call_batch(const Entry *e, const Model *m, float *out, int r0, int n) {
    const float *x = row_input(m, e, r0);
    if (e->nargs == 4) ((batch4_fn)e->fn)(out, x, m->noise + (size_t)r0 * m->nz, (size_t)n);
    else ((batch3_fn)e->fn)(out, x, (size_t)n);
}

/* ns per call over `calls` calls, cycling through the rows */
static double time_rows(const Entry *e, const Model *m, long calls) {
    float out[256] __attribute__((aligned(64)));
    int r = 0;
    double t0 = now_ns();
    for (long k = 0; k < calls; ++k) {
        call_row(e, m, out, r);
        if (++r == m->rows) r = 0;
    }
    double t1 = now_ns();
    g_sink = out[0];
    return (t1 - t0) / (double)calls;
}

/* ns per row with batches of `b` rows, at least `min_rows` rows */
static double time_batch(const Entry *e, const Model *m, float *out, int b, long min_rows) {
    long nb = (min_rows + b - 1) / b;
    int r = 0;
    double t0 = now_ns();
    for (long k = 0; k < nb; ++k) {
        call_batch(e, m, out, r, b);
        r += b;
        if (r + b > m->rows) r = 0;
    }
    double t1 = now_ns();
    g_sink = out[0];
    return (t1 - t0) / (double)(nb * b);
}

/* max |y - ref| and max |y - ref| / max(|ref|, 1e-3) over all rows, per-row entry point */
static void agreement(const Entry *e, const Model *m, int whole_chain, double *max_abs, double *max_rel,
                      int batched) {
    float *out = calloc((size_t)m->rows * m->no + 64, sizeof(float));
    if (batched) call_batch(e, m, out, 0, m->rows);
    else
        for (int r = 0; r < m->rows; ++r) call_row(e, m, out + (size_t)r * m->no, r);
    double ma = 0, mr = 0;
    for (size_t i = 0; i < (size_t)m->rows * m->no; ++i) {
        double ref = whole_chain ? m->expected[i] : (double)m->dnn_expected[i];
        double d = fabs((double)out[i] - ref);
        if (!(d == d)) d = INFINITY; /* NaN */
        double rel = d / fmax(fabs(ref), 1e-3);
        if (d > ma) ma = d;
        if (rel > mr) mr = rel;
    }
    *max_abs = ma;
    *max_rel = mr;
    free(out);
}

/* ------------------------------------------------------------------------------------------ */
/* stack usage: run one call on a thread whose stack we painted, count the bytes it touched    */

#define STACK_BYTES (4u << 20)
#define PAINT 0xA5

typedef struct {
    const Entry *e;
    const Model *m;
    int batch; /* 0: row call; n: batch of n rows */
    char *frame;
} StackJob;

static __attribute__((noinline)) float *empty_callee(float *o, const float *x, const float *z) {
    __asm__ volatile("" ::"r"(x), "r"(z) : "memory");
    return o;
}

static void *stack_thread(void *arg) {
    StackJob *j = arg;
    static float out[256 * 64] __attribute__((aligned(64)));
    j->frame = (char *)__builtin_frame_address(0);
    if (!j->e) empty_callee(out, j->m->in, j->m->noise);
    else if (j->batch) call_batch(j->e, j->m, out, 0, j->batch);
    else call_row(j->e, j->m, out, 0);
    __asm__ volatile("" ::: "memory");
    return NULL;
}

/* bytes below the thread function's frame that were written during the call */
static long stack_touched(const Entry *e, const Model *m, int batch) {
    void *stk = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stk == MAP_FAILED) die("mmap", strerror(errno));
    memset(stk, PAINT, STACK_BYTES);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstack(&a, stk, STACK_BYTES);
    StackJob j = {e, m, batch, NULL};
    pthread_t t;
    if (pthread_create(&t, &a, stack_thread, &j)) die("pthread_create", NULL);
    pthread_join(t, NULL);
    unsigned char *p = stk;
    size_t i = 0;
    while (i < STACK_BYTES && p[i] == PAINT) ++i;
    long used = (long)(j.frame - (char *)(p + i));
    munmap(stk, STACK_BYTES);
    pthread_attr_destroy(&a);
    return used;
}

/* ------------------------------------------------------------------------------------------ */
/* FMA peak: independent chains of vfmadd, enough of them to cover latency x ports             */

#define CHAINS 12

static __attribute__((noinline)) double fma_avx2_gflops(long iters) {
    __m256 acc[CHAINS];
    for (int k = 0; k < CHAINS; ++k) acc[k] = _mm256_set1_ps(1.0f + 0.01f * k);
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    double t0 = now_ns();
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
        for (int k = 0; k < CHAINS; ++k) acc[k] = _mm256_fmadd_ps(acc[k], b, c);
    }
    double t1 = now_ns();
    __m256 s = acc[0];
    for (int k = 1; k < CHAINS; ++k) s = _mm256_add_ps(s, acc[k]);
    float tmp[8];
    _mm256_storeu_ps(tmp, s);
    g_sink = tmp[0];
    return (double)iters * CHAINS * 8 * 2 / (t1 - t0);
}

__attribute__((target("avx512f"), noinline)) static double fma_avx512_gflops(long iters) {
    __m512 acc[CHAINS];
    for (int k = 0; k < CHAINS; ++k) acc[k] = _mm512_set1_ps(1.0f + 0.01f * k);
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    double t0 = now_ns();
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
        for (int k = 0; k < CHAINS; ++k) acc[k] = _mm512_fmadd_ps(acc[k], b, c);
    }
    double t1 = now_ns();
    __m512 s = acc[0];
    for (int k = 1; k < CHAINS; ++k) s = _mm512_add_ps(s, acc[k]);
    g_sink = _mm512_reduce_add_ps(s);
    return (double)iters * CHAINS * 16 * 2 / (t1 - t0);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON output                                                                                 */

static FILE *J;
static int j_first = 1;
static void jkey(const char *k) {
    fprintf(J, "%s\n  \"%s\": ", j_first ? "" : ",", k);
    j_first = 0;
}
static void jnum(const char *k, double v) {
    jkey(k);
    if (isfinite(v)) fprintf(J, "%.6g", v);
    else fprintf(J, "null");
}
static void jstr(const char *k, const char *v) {
    jkey(k);
    fputc('"', J);
    for (const char *p = v; *p; ++p) {
        if (*p == '"' || *p == '\\') fputc('\\', J);
        if ((unsigned char)*p >= 0x20) fputc(*p, J);
    }
    fputc('"', J);
}

static void cpu_info(char *model, size_t n, int *avx2, int *avx512f, int *fma) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    snprintf(model, n, "unknown");
    *avx2 = *avx512f = *fma = 0;
    int got_model = 0, got_flags = 0;
    while (f && fgets(line, sizeof line, f) && !(got_model && got_flags)) {
        if (!got_model && !strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 2;
                c[strcspn(c, "\n")] = 0;
                snprintf(model, n, "%s", c);
                got_model = 1;
            }
        } else if (!got_flags && !strncmp(line, "flags", 5)) {
            *avx2 = strstr(line, " avx2") != NULL;
            *avx512f = strstr(line, " avx512f") != NULL;
            *fma = strstr(line, " fma") != NULL;
            got_flags = 1;
        }
    }
    if (f) fclose(f);
}

/* ------------------------------------------------------------------------------------------ */

static void load_model(Model *m, const char *root, const char *name) {
    char p[4096];
    Npy a;
    m->name = name;
#define LOAD(file, req)                                                                \
    (snprintf(p, sizeof p, "%s/%s/check/%s", root, name, file), npy_load(p, &a) ? 1 \
                                                                  : ((req) ? (die("cannot read", p), 0) : 0))
    LOAD("input.npy", 1);
    if (a.is_f64) die("input.npy must be float32", p);
    m->in = a.data, m->rows = a.rows, m->ni = a.cols;
    LOAD("dnn_input.npy", 1);
    m->dnn_in = a.data, m->ndnn_in = a.cols;
    if (LOAD("noise.npy", 0)) m->noise = a.data, m->nz = a.cols;
    else m->noise = NULL, m->nz = 0;
    LOAD("dnn_expected.npy", 1);
    m->dnn_expected = a.data, m->no = a.cols;
    LOAD("expected.npy", 1);
    if (!a.is_f64) die("expected.npy must be float64", p);
    m->expected = a.data;
#undef LOAD
    int w = m->ndnn_in + m->nz;
    m->sk_dnn_in = aligned_alloc(64, ((size_t)m->rows * w * 4 + 63) / 64 * 64);
    for (int r = 0; r < m->rows; ++r) {
        memcpy(m->sk_dnn_in + (size_t)r * w, m->dnn_in + (size_t)r * m->ndnn_in, m->ndnn_in * 4);
        if (m->nz) memcpy(m->sk_dnn_in + (size_t)r * w + m->ndnn_in, m->noise + (size_t)r * m->nz, m->nz * 4);
    }
}

/* best of 5 runs of ~0.1 s each, 256-bit and (if available) 512-bit FMA; keeps the maximum */
static void fma_peak(double *p2, double *p5) {
    long it = 4000000;
    for (int i = 0; i < 5; ++i) {
        double g = fma_avx2_gflops(it);
        if (g > *p2) *p2 = g;
    }
    if (__builtin_cpu_supports("avx512f"))
        for (int i = 0; i < 5; ++i) {
            double g = fma_avx512_gflops(it / 2);
            if (g > *p5) *p5 = g;
        }
}

static void loadavg(const char *key) {
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    jstr(key, buf);
}

static void usage(void) {
    fprintf(stderr,
            "usage: harness --lamarrc LIB [--scikinc LIB] --check-root DIR --models a,b,... --json OUT\n"
            "               [--reps N (>=5)] [--calls N (>=20000)] [--cpu K]\n");
    exit(2);
}

/* time two per-row entry points, alternating A/B; either may be absent */
static void ab_rows(const char *key, const Entry *a, const Entry *b, const Model *m, int reps, long calls) {
    double ta[64], tb[64];
    long warm = calls / 10;
    if (a) time_rows(a, m, warm);
    if (b) time_rows(b, m, warm);
    for (int i = 0; i < reps; ++i) {
        if (a) ta[i] = time_rows(a, m, calls);
        if (b) tb[i] = time_rows(b, m, calls);
    }
    char k[256];
    if (a) {
        snprintf(k, sizeof k, "%s.%s.ns", key, "A");
        jnum(k, median(ta, reps));
        snprintf(k, sizeof k, "%s.%s.min", key, "A");
        jnum(k, vmin(ta, reps));
        snprintf(k, sizeof k, "%s.%s.max", key, "A");
        jnum(k, vmax(ta, reps));
        snprintf(k, sizeof k, "%s.%s.sym", key, "A");
        jstr(k, a->sym);
        fprintf(stderr, "  %-34s %-28s %10.1f ns/row\n", key, a->sym, median(ta, reps));
    }
    if (b) {
        snprintf(k, sizeof k, "%s.%s.ns", key, "B");
        jnum(k, median(tb, reps));
        snprintf(k, sizeof k, "%s.%s.min", key, "B");
        jnum(k, vmin(tb, reps));
        snprintf(k, sizeof k, "%s.%s.max", key, "B");
        jnum(k, vmax(tb, reps));
        snprintf(k, sizeof k, "%s.%s.sym", key, "B");
        jstr(k, b->sym);
        fprintf(stderr, "  %-34s %-28s %10.1f ns/row\n", key, b->sym, median(tb, reps));
    }
}

static void batches(const char *key, const Entry *e, const Model *m, int reps, long calls) {
    static const int sizes[3] = {1, 16, 256};
    double t[3][64];
    float *out = aligned_alloc(64, ((size_t)m->rows * m->no * 4 + 63) / 64 * 64);
    for (int s = 0; s < 3; ++s) time_batch(e, m, out, sizes[s], calls / 10);
    for (int i = 0; i < reps; ++i)
        for (int s = 0; s < 3; ++s) t[s][i] = time_batch(e, m, out, sizes[s], calls);
    char k[256];
    snprintf(k, sizeof k, "%s.sym", key);
    jstr(k, e->sym);
    for (int s = 0; s < 3; ++s) {
        snprintf(k, sizeof k, "%s.b%d.ns", key, sizes[s]);
        jnum(k, median(t[s], reps));
        snprintf(k, sizeof k, "%s.b%d.min", key, sizes[s]);
        jnum(k, vmin(t[s], reps));
        snprintf(k, sizeof k, "%s.b%d.max", key, sizes[s]);
        jnum(k, vmax(t[s], reps));
        fprintf(stderr, "  %-34s %-28s batch %3d %10.1f ns/row\n", key, e->sym, sizes[s], median(t[s], reps));
    }
    free(out);
}

static void report_agreement(const char *key, const Entry *e, const Model *m, int whole, int batched) {
    double ma, mr;
    agreement(e, m, whole, &ma, &mr, batched);
    char k[256];
    snprintf(k, sizeof k, "%s.max_abs", key);
    jnum(k, ma);
    snprintf(k, sizeof k, "%s.max_rel", key);
    jnum(k, mr);
    snprintf(k, sizeof k, "%s.sym", key);
    jstr(k, e->sym);
    snprintf(k, sizeof k, "%s.ref", key);
    jstr(k, whole ? "expected.npy" : "dnn_expected.npy");
}

static void report_stack(const char *key, const Entry *e, const Model *m, int batch, long base) {
    long used = stack_touched(e, m, batch) - base;
    char k[256];
    snprintf(k, sizeof k, "%s.bytes", key);
    jnum(k, (double)used);
    snprintf(k, sizeof k, "%s.sym", key);
    jstr(k, e->sym);
    fprintf(stderr, "  %-34s %-28s %8ld stack bytes\n", key, e->sym, used);
}

int main(int argc, char **argv) {
    const char *lam_path = NULL, *sk_path = NULL, *root = NULL, *models = NULL, *json = NULL;
    int reps = 5, cpu = -1;
    double peak2 = 0, peak5 = 0;
    long calls = 20000;
    for (int i = 1; i < argc; ++i) {
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--lamarrc")) lam_path = argv[++i];
        else if (!strcmp(argv[i], "--scikinc")) sk_path = argv[++i];
        else if (!strcmp(argv[i], "--check-root")) root = argv[++i];
        else if (!strcmp(argv[i], "--models")) models = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = argv[++i];
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calls")) calls = atol(argv[++i]);
        else if (!strcmp(argv[i], "--cpu")) cpu = atoi(argv[++i]);
        else usage();
    }
    if (!lam_path || !root || !models || !json) usage();
    if (reps < 5) reps = 5;
    if (reps > 64) reps = 64;
    if (calls < 1000) calls = 1000; /* run.sh uses 20000 */

    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set)) fprintf(stderr, "harness: could not pin to cpu %d\n", cpu);
    }

    void *lam = dlopen(lam_path, RTLD_NOW | RTLD_LOCAL);
    if (!lam) die("dlopen lamarrc", dlerror());
    g_meta = (const char *)dlsym(lam, "lamarrc_metadata");
    if (!g_meta) fprintf(stderr, "harness: no lamarrc_metadata; assuming NAME(out, in[, noise])\n");
    void *sk = NULL;
    if (sk_path && !(sk = dlopen(sk_path, RTLD_NOW | RTLD_LOCAL))) die("dlopen scikinC", dlerror());

    J = fopen(json, "w");
    if (!J) die("cannot write", json);
    fputc('{', J);

    char cpu_model[256];
    int avx2, avx512f, fma;
    cpu_info(cpu_model, sizeof cpu_model, &avx2, &avx512f, &fma);
    jstr("machine.cpu", cpu_model);
    jnum("machine.avx2", avx2);
    jnum("machine.avx512f", avx512f);
    jnum("machine.fma", fma);
    jnum("machine.pinned_cpu", cpu);
    jnum("config.reps", reps);
    jnum("config.calls", (double)calls);

    loadavg("machine.loadavg_start");
    fma_peak(&peak2, &peak5); /* again at the end; the best of both is kept */

    char *list = strdup(models);
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        Model m = {0};
        load_model(&m, root, name);
        int gen = m.nz > 0;
        char sym[160], key[256];
        fprintf(stderr, "%s (in %d, noise %d, out %d)\n", name, m.ni, m.nz, m.no);

        /* lamarrc symbols: NAME is the whole chain iff NAME_dnn exists (network-only step);
         * before that, NAME is the network alone. */
        Entry l_row, l_dnn, l_batch, l_dnn_batch, s_row, s_dnn;
        snprintf(sym, sizeof sym, "%s_dnn", name);
        int has_dnn = dlsym(lam, sym) != NULL;
        if (!lam_entry(lam, &l_row, name, 0, &m, !has_dnn)) die("lamarrc library lacks", name);
        if (!lam_entry(lam, &l_batch, name, 1, &m, !has_dnn)) die("lamarrc library lacks batch of", name);
        if (has_dnn) lam_entry(lam, &l_dnn, sym, 0, &m, 1);
        int has_dnn_batch = has_dnn && lam_entry(lam, &l_dnn_batch, sym, 1, &m, 1);
        int have_sk = sk && entry(sk, &s_row, name, gen ? 3 : 2, 0, 0);
        int have_sk_dnn = sk && entry(sk, &s_dnn, sym, 2, 1, gen);

        const Entry *l_net = has_dnn ? &l_dnn : &l_row;
        const Entry *l_net_batch = has_dnn_batch ? &l_dnn_batch : &l_batch;
        snprintf(key, sizeof key, "%s.lamarrc.has_dnn", name);
        jnum(key, has_dnn);
        snprintf(key, sizeof key, "%s.lamarrc.net_batch_is_whole_chain", name);
        jnum(key, has_dnn && !has_dnn_batch);
        snprintf(key, sizeof key, "%s.lamarrc.net_concat_noise", name);
        jnum(key, l_net->concat_noise);
        snprintf(key, sizeof key, "%s.rows", name);
        jnum(key, m.rows);

        /* numerical agreement with the Keras/scikit-learn references (recorded, not judged) */
        snprintf(key, sizeof key, "%s.agree.lamarrc_net", name);
        report_agreement(key, l_net, &m, 0, 0);
        snprintf(key, sizeof key, "%s.agree.lamarrc_net_batch", name);
        report_agreement(key, l_net_batch, &m, !l_net_batch->uses_dnn_in, 1);
        if (has_dnn) {
            snprintf(key, sizeof key, "%s.agree.lamarrc_chain", name);
            report_agreement(key, &l_row, &m, 1, 0);
        }
        if (have_sk) {
            snprintf(key, sizeof key, "%s.agree.scikinc_chain", name);
            report_agreement(key, &s_row, &m, 1, 0);
        }
        if (have_sk_dnn) {
            snprintf(key, sizeof key, "%s.agree.scikinc_net", name);
            report_agreement(key, &s_dnn, &m, 0, 0);
        }

        /* whole chain, per row: scikinC (A) vs lamarrc (B) */
        snprintf(key, sizeof key, "%s.chain", name);
        if (has_dnn) ab_rows(key, have_sk ? &s_row : NULL, &l_row, &m, reps, calls);
        else if (have_sk) ab_rows(key, &s_row, NULL, &m, reps, calls);

        /* network only, per row: scikinC NAME_dnn (A) vs lamarrc (B) */
        snprintf(key, sizeof key, "%s.net", name);
        ab_rows(key, have_sk_dnn ? &s_dnn : NULL, l_net, &m, reps, calls);

        /* sub-steps, per row, when both libraries export them: NAME_tX (raw input) and
         * NAME_tY_inverse (fed the network's reference outputs) */
        if (has_dnn && sk) {
            Entry a, b;
            snprintf(sym, sizeof sym, "%s_tX", name);
            if (entry(sk, &a, sym, 2, 0, 0) && entry(lam, &b, sym, 2, 0, 0)) {
                snprintf(key, sizeof key, "%s.tX", name);
                ab_rows(key, &a, &b, &m, reps, calls);
            }
            snprintf(sym, sizeof sym, "%s_tY_inverse", name);
            if (entry(sk, &a, sym, 2, 0, 0) && entry(lam, &b, sym, 2, 0, 0)) {
                a.uses_netout = b.uses_netout = 1;
                snprintf(key, sizeof key, "%s.tYinv", name);
                ab_rows(key, &a, &b, &m, reps, calls);
            }
        }

        /* lamarrc batched */
        snprintf(key, sizeof key, "%s.net_batch", name);
        batches(key, l_net_batch, &m, reps, calls);
        if (has_dnn) {
            snprintf(key, sizeof key, "%s.chain_batch", name);
            batches(key, &l_batch, &m, reps, calls);
        }

        /* stack touched by one call */
        long base = stack_touched(NULL, &m, 0);
        snprintf(key, sizeof key, "%s.stack.lamarrc_row", name);
        report_stack(key, &l_row, &m, 0, base);
        if (has_dnn) {
            snprintf(key, sizeof key, "%s.stack.lamarrc_net", name);
            report_stack(key, &l_dnn, &m, 0, base);
        }
        snprintf(key, sizeof key, "%s.stack.lamarrc_batch256", name);
        report_stack(key, &l_batch, &m, m.rows, base);
        if (have_sk) {
            snprintf(key, sizeof key, "%s.stack.scikinc_row", name);
            report_stack(key, &s_row, &m, 0, base);
        }
        snprintf(key, sizeof key, "%s.stack.calibration", name);
        jnum(key, (double)base);
    }
    fma_peak(&peak2, &peak5);
    jnum("peak.avx2_fma_gflops", peak2);
    if (peak5 > 0) jnum("peak.avx512_fma_gflops", peak5);
    fprintf(stderr, "  FMA peak (best of start and end), 256-bit: %.1f GFLOP/s, 512-bit: %.1f GFLOP/s\n", peak2, peak5);
    loadavg("machine.loadavg_end");
    fputs("\n}\n", J);
    fclose(J);
    return 0;
}
