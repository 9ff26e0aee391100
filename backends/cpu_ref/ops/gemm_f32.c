/* SPDX-License-Identifier: Apache-2.0 */
/* Cache-blocked SGEMM: packed A/B panels and a 6x16 register-blocked micro-kernel. */
#include "backends/cpu_ref/ops/gemm_f32.h"

#include <omp.h>
#include <string.h>

/*
 * Blocking follows the usual Goto/BLIS scheme: a KC x NC panel of B and an
 * MC x KC block of A are packed so that the micro-kernel streams both
 * contiguously. KC*NR*4 bytes of B (16 KiB) stay in L1, the MC x KC block of
 * A (96 KiB) in L2. A task is one MC x NC tile of C with the whole k loop,
 * so each element of C is owned by one thread and summed in a fixed order.
 */
enum {
    SGEMM_MR = 6,
    SGEMM_NR = 16,
    SGEMM_KC = 256,
    SGEMM_MC = 96,
    SGEMM_NC = 1024,
    SGEMM_GEMV_M = 4, /* below this many rows, packing costs more than it saves */
    SGEMM_GEMV_CHUNK = 256,
};

/* GCC/Clang vector extension: portable C that maps onto SSE, AVX or NEON registers. */
typedef float sgemm_v8 __attribute__((vector_size(32)));

/* Build the micro-kernels for AVX-512 and AVX2+FMA machines too, chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define SGEMM_HOT                                                                                  \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),                   \
                   optimize("fp-contract=fast")))
#else
#define SGEMM_HOT
#endif

static int64_t sgemm_min(int64_t a, int64_t b) {
    return a < b ? a : b;
}

static int64_t sgemm_round_up(int64_t v, int64_t m) {
    return (v + m - 1) / m * m;
}

/* Floats of one thread's pack area, rounded so each thread's slice stays 64-byte aligned. */
static size_t sgemm_thread_floats(int64_t m, int64_t n, int64_t k) {
    int64_t kc = sgemm_min(k, SGEMM_KC);
    int64_t mc = sgemm_round_up(sgemm_min(m, SGEMM_MC), SGEMM_MR);
    int64_t nc = sgemm_round_up(sgemm_min(n, SGEMM_NC), SGEMM_NR);
    return (size_t)sgemm_round_up(mc * kc, 16) + (size_t)sgemm_round_up(kc * nc, 16);
}

static int sgemm_threads(int64_t m, int64_t n, int64_t k, int n_threads) {
    int64_t tasks = ((m + SGEMM_MC - 1) / SGEMM_MC) * ((n + SGEMM_NC - 1) / SGEMM_NC);
    if (n_threads < 1 || m * n * k < (int64_t)1 << 15)
        return 1;
    return (int)sgemm_min(n_threads, tasks);
}

size_t cpu_ref_sgemm_scratch_bytes(int64_t m, int64_t n, int64_t k, int n_threads) {
    if (m <= 0 || n <= 0 || k <= 0 || m < SGEMM_GEMV_M)
        return 0;
    return sgemm_thread_floats(m, n, k) * sizeof(float) * (size_t)sgemm_threads(m, n, k, n_threads);
}

/* Pack rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into MR-row slivers, zero-padded. */
static void sgemm_pack_a(
    const cpu_ref_sgemm_args *g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *pa) {
    for (int64_t is = 0; is < mc; is += SGEMM_MR) {
        int64_t rows = sgemm_min(SGEMM_MR, mc - is);
        float *dst = pa + is * kc;
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t ii = 0; ii < SGEMM_MR; ii++) {
                int64_t i = i0 + is + ii;
                float v = 0.0f;
                if (ii < rows)
                    v = g->trans_a ? g->a[(p0 + p) * g->lda + i] : g->a[i * g->lda + p0 + p];
                dst[p * SGEMM_MR + ii] = v;
            }
        }
    }
}

/* Pack rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column slivers, zero-padded. */
static void sgemm_pack_b(
    const cpu_ref_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float *pb) {
    for (int64_t js = 0; js < nc; js += SGEMM_NR) {
        int64_t cols = sgemm_min(SGEMM_NR, nc - js);
        float *dst = pb + js * kc;
        if (!g->trans_b && cols == SGEMM_NR) {
            for (int64_t p = 0; p < kc; p++)
                memcpy(dst + p * SGEMM_NR, g->b + (p0 + p) * g->ldb + j0 + js,
                       SGEMM_NR * sizeof(float));
            continue;
        }
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t jj = 0; jj < SGEMM_NR; jj++) {
                int64_t j = j0 + js + jj;
                float v = 0.0f;
                if (jj < cols)
                    v = g->trans_b ? g->b[j * g->ldb + p0 + p] : g->b[(p0 + p) * g->ldb + j];
                dst[p * SGEMM_NR + jj] = v;
            }
        }
    }
}

/* acc[MR][NR] = sum_p pa[p][:] (outer) pb[p][:]; pb is 64-byte aligned. */
SGEMM_HOT static void sgemm_kernel_6x16(int64_t kc,
                                        const float *restrict pa,
                                        const float *restrict pb,
                                        float *restrict acc) {
    sgemm_v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    sgemm_v8 c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (int64_t p = 0; p < kc; p++) {
        sgemm_v8 b0 = *(const sgemm_v8 *)(pb + p * SGEMM_NR);
        sgemm_v8 b1 = *(const sgemm_v8 *)(pb + p * SGEMM_NR + 8);
        const float *a = pa + p * SGEMM_MR;
        c00 += b0 * a[0];
        c01 += b1 * a[0];
        c10 += b0 * a[1];
        c11 += b1 * a[1];
        c20 += b0 * a[2];
        c21 += b1 * a[2];
        c30 += b0 * a[3];
        c31 += b1 * a[3];
        c40 += b0 * a[4];
        c41 += b1 * a[4];
        c50 += b0 * a[5];
        c51 += b1 * a[5];
    }
    sgemm_v8 *out = (sgemm_v8 *)acc;
    out[0] = c00, out[1] = c01, out[2] = c10, out[3] = c11, out[4] = c20, out[5] = c21;
    out[6] = c30, out[7] = c31, out[8] = c40, out[9] = c41, out[10] = c50, out[11] = c51;
}

/* C tile = alpha*acc + beta*C on the first k block, C += alpha*acc after. */
static void sgemm_store(const float *acc,
                        float *c,
                        int64_t ldc,
                        int64_t rows,
                        int64_t cols,
                        float alpha,
                        float beta,
                        bool first) {
    for (int64_t i = 0; i < rows; i++) {
        const float *a = acc + i * SGEMM_NR;
        float *cr = c + i * ldc;
        if (first && beta == 0.0f) {
            for (int64_t j = 0; j < cols; j++)
                cr[j] = alpha * a[j];
        } else if (first) {
            for (int64_t j = 0; j < cols; j++)
                cr[j] = alpha * a[j] + beta * cr[j];
        } else {
            for (int64_t j = 0; j < cols; j++)
                cr[j] += alpha * a[j];
        }
    }
}

static void sgemm_tile(const cpu_ref_sgemm_args *g, int64_t i0, int64_t j0, float *pa, float *pb) {
    int64_t mc = sgemm_min(SGEMM_MC, g->m - i0);
    int64_t nc = sgemm_min(SGEMM_NC, g->n - j0);
    _Alignas(64) float acc[SGEMM_MR * SGEMM_NR];
    for (int64_t p0 = 0; p0 < g->k; p0 += SGEMM_KC) {
        int64_t kc = sgemm_min(SGEMM_KC, g->k - p0);
        sgemm_pack_a(g, i0, mc, p0, kc, pa);
        sgemm_pack_b(g, p0, kc, j0, nc, pb);
        for (int64_t js = 0; js < nc; js += SGEMM_NR) {
            for (int64_t is = 0; is < mc; is += SGEMM_MR) {
                sgemm_kernel_6x16(kc, pa + is * kc, pb + js * kc, acc);
                sgemm_store(acc, g->c + (i0 + is) * g->ldc + j0 + js, g->ldc,
                            sgemm_min(SGEMM_MR, mc - is), sgemm_min(SGEMM_NR, nc - js), g->alpha,
                            g->beta, p0 == 0);
            }
        }
    }
}

/* Dot product with 8 lanes summed in a fixed order. */
SGEMM_HOT static float sgemm_dot(const float *a, int64_t inc_a, const float *b, int64_t k) {
    sgemm_v8 acc = {0};
    int64_t p = 0;
    if (inc_a == 1) {
        for (; p + 8 <= k; p += 8) {
            sgemm_v8 va, vb;
            memcpy(&va, a + p, sizeof va);
            memcpy(&vb, b + p, sizeof vb);
            acc += va * vb;
        }
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; p < k; p++)
        s += a[p * inc_a] * b[p];
    return s;
}

/* c[j0..j0+cols) of one row: y = sum_p a[p] * B[p, j], B not transposed. */
SGEMM_HOT static void sgemm_axpy_rows(
    const float *a, int64_t inc_a, const float *b, int64_t ldb, int64_t k, int64_t cols, float *y) {
    for (int64_t j = 0; j < cols; j++)
        y[j] = 0.0f;
    for (int64_t p = 0; p < k; p++) {
        float av = a[p * inc_a];
        const float *br = b + p * ldb;
        for (int64_t j = 0; j < cols; j++)
            y[j] += av * br[j];
    }
}

static void sgemm_gemv_chunk(const cpu_ref_sgemm_args *g, int64_t i, int64_t j0) {
    int64_t cols = sgemm_min(SGEMM_GEMV_CHUNK, g->n - j0);
    const float *a = g->trans_a ? g->a + i : g->a + i * g->lda;
    int64_t inc_a = g->trans_a ? g->lda : 1;
    float y[SGEMM_GEMV_CHUNK];
    if (g->trans_b) {
        for (int64_t j = 0; j < cols; j++)
            y[j] = sgemm_dot(a, inc_a, g->b + (j0 + j) * g->ldb, g->k);
    } else {
        sgemm_axpy_rows(a, inc_a, g->b + j0, g->ldb, g->k, cols, y);
    }
    float *c = g->c + i * g->ldc + j0;
    for (int64_t j = 0; j < cols; j++)
        c[j] = g->beta == 0.0f ? g->alpha * y[j] : g->alpha * y[j] + g->beta * c[j];
}

static void sgemm_gemv(const cpu_ref_sgemm_args *g, int n_threads) {
    int64_t chunks = (g->n + SGEMM_GEMV_CHUNK - 1) / SGEMM_GEMV_CHUNK;
    int64_t tasks = g->m * chunks;
    int nt = g->m * g->n * g->k < ((int64_t)1 << 16) ? 1 : (int)sgemm_min(n_threads, tasks);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < tasks; t++)
        sgemm_gemv_chunk(g, t / chunks, (t % chunks) * SGEMM_GEMV_CHUNK);
}

static void sgemm_scale_c(const cpu_ref_sgemm_args *g) {
    for (int64_t i = 0; i < g->m; i++) {
        float *cr = g->c + i * g->ldc;
        for (int64_t j = 0; j < g->n; j++)
            cr[j] = g->beta == 0.0f ? 0.0f : g->beta * cr[j];
    }
}

void cpu_ref_sgemm(const cpu_ref_sgemm_args *g, void *scratch, int n_threads) {
    if (g->m <= 0 || g->n <= 0)
        return;
    if (g->k <= 0) {
        sgemm_scale_c(g);
        return;
    }
    if (g->m < SGEMM_GEMV_M) {
        sgemm_gemv(g, n_threads);
        return;
    }
    int64_t n_nb = (g->n + SGEMM_NC - 1) / SGEMM_NC;
    int64_t tasks = ((g->m + SGEMM_MC - 1) / SGEMM_MC) * n_nb;
    size_t per_thread = sgemm_thread_floats(g->m, g->n, g->k);
    int64_t pa_floats = sgemm_round_up(
        sgemm_round_up(sgemm_min(g->m, SGEMM_MC), SGEMM_MR) * sgemm_min(g->k, SGEMM_KC), 16);
    int nt = sgemm_threads(g->m, g->n, g->k, n_threads);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int64_t t = 0; t < tasks; t++) {
        float *pa = (float *)scratch + per_thread * (size_t)omp_get_thread_num();
        sgemm_tile(g, (t / n_nb) * SGEMM_MC, (t % n_nb) * SGEMM_NC, pa, pa + pa_floats);
    }
}
