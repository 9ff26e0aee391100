/* SPDX-License-Identifier: Apache-2.0 */
/* cpu_ref int16 GEMM core: packing, micro-kernels (AVX2 / SSE2 / portable C), tiling. */
#include "backends/cpu_ref/ops/qgemm_s16.h"

#include <stdbool.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#define QG_X86 1
#include <immintrin.h>
#else
#define QG_X86 0
#endif

size_t qg_pack_a_bytes(int64_t m, int64_t k) {
    return (size_t)((m + QG_MR - 1) / QG_MR * qg_kp(k) * QG_MR * 2) * sizeof(int16_t);
}

size_t qg_pack_b_bytes(int64_t k, int64_t n) {
    return (size_t)((n + QG_NR - 1) / QG_NR * qg_kp(k) * QG_NR * 2) * sizeof(int16_t);
}

void qg_pack_a(const int16_t *a, int64_t lda, int64_t m, int64_t k, int16_t *dst) {
    int64_t kp = qg_kp(k), mp = (m + QG_MR - 1) / QG_MR * QG_MR;
    for (int64_t i = 0; i < mp; i++) {
        for (int64_t kk = 0; kk < 2 * kp; kk++)
            dst[qg_a_at(kp, i, kk)] = i < m && kk < k ? a[i * lda + kk] : 0;
    }
}

void qg_pack_b_pad(int64_t k, int64_t n, int16_t *dst) {
    int64_t kp = qg_kp(k), panels = (n + QG_NR - 1) / QG_NR;
    if (k & 1) {
        for (int64_t j = 0; j < panels * QG_NR; j++)
            dst[qg_b_at(kp, k, j)] = 0;
    }
    if (n % QG_NR) {
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = n; j < panels * QG_NR; j++)
                dst[qg_b_at(kp, kk, j)] = 0;
    }
}

/* ---- micro-kernels: tile[QG_MR][QG_NR] = A block x B panel over kp pairs ---- */

typedef void (*qg_kernel)(const int16_t *a, const int16_t *b, int64_t kp, int32_t *tile);

/* The A pair (a[2r], a[2r+1]) as one 32-bit lane (memcpy: no aliasing assumptions). */
static inline int32_t qg_pair(const int16_t *a) {
    int32_t v;
    memcpy(&v, a, sizeof v);
    return v;
}

static void qg_kernel_c(const int16_t *a, const int16_t *b, int64_t kp, int32_t *tile) {
    uint32_t acc[QG_MR * QG_NR] = {0}; /* unsigned: wraps like the int32 hardware lanes */
    for (int64_t p = 0; p < kp; p++, a += 2 * QG_MR, b += 2 * QG_NR) {
        for (int r = 0; r < QG_MR; r++) {
            int32_t a0 = a[2 * r], a1 = a[2 * r + 1];
            for (int j = 0; j < QG_NR; j++)
                acc[r * QG_NR + j] += (uint32_t)(a0 * b[2 * j]) + (uint32_t)(a1 * b[2 * j + 1]);
        }
    }
    for (int i = 0; i < QG_MR * QG_NR; i++)
        tile[i] = (int32_t)acc[i];
}

#if QG_X86
/* SSE2 (every x86-64): the 16 columns as two halves of 8, each 4 rows x 2 vectors of sums. */
static void qg_kernel_sse2(const int16_t *a, const int16_t *b, int64_t kp, int32_t *tile) {
    for (int h = 0; h < 2; h++) {
        __m128i c[QG_MR][2];
        for (int r = 0; r < QG_MR; r++)
            c[r][0] = c[r][1] = _mm_setzero_si128();
        const int16_t *ap = a, *bp = b + h * 16;
        for (int64_t p = 0; p < kp; p++, ap += 2 * QG_MR, bp += 2 * QG_NR) {
            __m128i b0 = _mm_loadu_si128((const __m128i *)bp);
            __m128i b1 = _mm_loadu_si128((const __m128i *)(bp + 8));
            for (int r = 0; r < QG_MR; r++) {
                __m128i av = _mm_set1_epi32(qg_pair(ap + 2 * r));
                c[r][0] = _mm_add_epi32(c[r][0], _mm_madd_epi16(av, b0));
                c[r][1] = _mm_add_epi32(c[r][1], _mm_madd_epi16(av, b1));
            }
        }
        for (int r = 0; r < QG_MR; r++) {
            _mm_storeu_si128((__m128i *)(tile + r * QG_NR + h * 8), c[r][0]);
            _mm_storeu_si128((__m128i *)(tile + r * QG_NR + h * 8 + 4), c[r][1]);
        }
    }
}

/* AVX2: 4 rows x 16 columns in eight 256-bit sums. */
__attribute__((target("avx2"))) static void
qg_kernel_avx2(const int16_t *a, const int16_t *b, int64_t kp, int32_t *tile) {
    __m256i c[QG_MR][2];
    for (int r = 0; r < QG_MR; r++)
        c[r][0] = c[r][1] = _mm256_setzero_si256();
    for (int64_t p = 0; p < kp; p++, a += 2 * QG_MR, b += 2 * QG_NR) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 16));
        for (int r = 0; r < QG_MR; r++) {
            __m256i av = _mm256_set1_epi32(qg_pair(a + 2 * r));
            c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(av, b0));
            c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(av, b1));
        }
    }
    for (int r = 0; r < QG_MR; r++) {
        _mm256_storeu_si256((__m256i *)(tile + r * QG_NR), c[r][0]);
        _mm256_storeu_si256((__m256i *)(tile + r * QG_NR + 8), c[r][1]);
    }
}

/*
 * AVX-512 VNNI: one 512-bit register holds a whole 16-column row, and
 * vpdpwssd multiplies, pairs and accumulates in one instruction (wrapping,
 * like pmaddwd + paddd). Two sets of sums (even and odd pairs) give eight
 * independent dependency chains.
 */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
qg_kernel_vnni(const int16_t *a, const int16_t *b, int64_t kp, int32_t *tile) {
    __m512i c0[QG_MR], c1[QG_MR];
    for (int r = 0; r < QG_MR; r++)
        c0[r] = c1[r] = _mm512_setzero_si512();
    int64_t p = 0;
    for (; p + 1 < kp; p += 2, a += 4 * QG_MR, b += 4 * QG_NR) {
        __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 2 * QG_NR);
        for (int r = 0; r < QG_MR; r++) {
            c0[r] = _mm512_dpwssd_epi32(c0[r], _mm512_set1_epi32(qg_pair(a + 2 * r)), b0);
            c1[r] =
                _mm512_dpwssd_epi32(c1[r], _mm512_set1_epi32(qg_pair(a + 2 * QG_MR + 2 * r)), b1);
        }
    }
    if (p < kp) {
        __m512i b0 = _mm512_loadu_si512(b);
        for (int r = 0; r < QG_MR; r++)
            c0[r] = _mm512_dpwssd_epi32(c0[r], _mm512_set1_epi32(qg_pair(a + 2 * r)), b0);
    }
    for (int r = 0; r < QG_MR; r++)
        _mm512_storeu_si512(tile + r * QG_NR, _mm512_add_epi32(c0[r], c1[r]));
}
#endif

/* ---- depthwise tap pairs ---------------------------------------------------- */

typedef void (*qg_dw_fn)(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out);

static void qg_dw_c(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out) {
    for (int64_t j = 0; j < n; j++) {
        uint32_t acc = 0;
        for (int t = 0; t < ntaps; t++) {
            const int16_t *q = p + 2 * (j + off[t]);
            int16_t wp[2];
            memcpy(wp, &w[t], sizeof wp);
            acc += (uint32_t)(q[0] * wp[0]) + (uint32_t)(q[1] * wp[1]);
        }
        out[j] = (int32_t)acc;
    }
}

#if QG_X86
__attribute__((target("avx2"))) static void qg_dw_avx2(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out) {
    for (int64_t o0 = 0; o0 < n; o0 += QG_DW_CHUNK) {
        __m256i c[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()};
        for (int t = 0; t < ntaps; t++) {
            const int16_t *q = p + 2 * (o0 + off[t]);
            __m256i wv = _mm256_set1_epi32(w[t]);
            for (int v = 0; v < 4; v++)
                c[v] = _mm256_add_epi32(
                    c[v], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(q + 16 * v)), wv));
        }
        int32_t t32[QG_DW_CHUNK];
        for (int v = 0; v < 4; v++)
            _mm256_storeu_si256((__m256i *)(t32 + 8 * v), c[v]);
        memcpy(out + o0, t32, (size_t)(n - o0 < QG_DW_CHUNK ? n - o0 : QG_DW_CHUNK) * 4);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void qg_dw_vnni(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out) {
    for (int64_t o0 = 0; o0 < n; o0 += QG_DW_CHUNK) {
        __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
        for (int t = 0; t < ntaps; t++) {
            const int16_t *q = p + 2 * (o0 + off[t]);
            __m512i wv = _mm512_set1_epi32(w[t]);
            c0 = _mm512_dpwssd_epi32(c0, _mm512_loadu_si512(q), wv);
            c1 = _mm512_dpwssd_epi32(c1, _mm512_loadu_si512(q + 32), wv);
        }
        int32_t t32[QG_DW_CHUNK];
        _mm512_storeu_si512(t32, c0);
        _mm512_storeu_si512(t32 + 16, c1);
        memcpy(out + o0, t32, (size_t)(n - o0 < QG_DW_CHUNK ? n - o0 : QG_DW_CHUNK) * 4);
    }
}
#endif

static qg_dw_fn qg_dw_pick(void) {
#if QG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        return qg_dw_vnni;
    if (__builtin_cpu_supports("avx2"))
        return qg_dw_avx2;
#endif
    return qg_dw_c;
}

void qg_dw_pairs(
    const int16_t *p, const int64_t *off, const int32_t *w, int ntaps, int64_t n, int32_t *out) {
    static qg_dw_fn fn; /* benign race: every thread picks the same function */
    qg_dw_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = qg_dw_pick();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    f(p, off, w, ntaps, n, out);
}

/* The widest micro-kernel this CPU runs (chosen once; all give identical sums). */
static qg_kernel qg_pick(void) {
#if QG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        return qg_kernel_vnni;
    if (__builtin_cpu_supports("avx2"))
        return qg_kernel_avx2;
    return qg_kernel_sse2;
#else
    return qg_kernel_c;
#endif
}

static qg_kernel qg_active(void) {
    static qg_kernel k; /* benign race: every thread computes the same pointer */
    qg_kernel v = __atomic_load_n(&k, __ATOMIC_RELAXED);
    if (!v) {
        v = qg_pick();
        __atomic_store_n(&k, v, __ATOMIC_RELAXED);
    }
    return v;
}

void qg_gemm(const int16_t *ap,
             const int16_t *bp,
             int64_t m,
             int64_t k,
             int64_t n,
             qg_epilogue epi,
             void *ctx,
             int nt) {
    qg_kernel kern = qg_active();
    int64_t kp = qg_kp(k), mb = (m + QG_MR - 1) / QG_MR, nb = (n + QG_NR - 1) / QG_NR;
    int64_t tiles = mb * nb;
    if (tiles < nt)
        nt = (int)tiles;
        /* Tiles ordered panel-major: consecutive tiles (one thread's share) reuse one B panel. */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t jb = t / mb, ib = t % mb;
        int32_t tile[QG_MR * QG_NR];
        kern(ap + ib * kp * QG_MR * 2, bp + jb * kp * QG_NR * 2, kp, tile);
        int64_t m0 = ib * QG_MR, n0 = jb * QG_NR;
        int mr = m - m0 < QG_MR ? (int)(m - m0) : QG_MR;
        int nr = n - n0 < QG_NR ? (int)(n - n0) : QG_NR;
        epi(ctx, m0, n0, mr, nr, tile);
    }
}

void qg_store_epilogue(void *ctx, int64_t m0, int64_t n0, int mr, int nr, const int32_t *tile) {
    const qg_store *s = ctx;
    for (int r = 0; r < mr; r++) {
        memcpy(s->c + (m0 + r) * s->ldc + n0, tile + r * QG_NR, (size_t)nr * sizeof(int32_t));
    }
}

bool qg_kernel_selftest(const int16_t *a, const int16_t *b, int64_t kp) {
    qg_kernel ks[4];
    int n = 0;
#if QG_X86
    ks[n++] = qg_kernel_sse2;
    if (__builtin_cpu_supports("avx2"))
        ks[n++] = qg_kernel_avx2;
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        ks[n++] = qg_kernel_vnni;
#endif
    ks[n++] = qg_active();
    int32_t t0[QG_MR * QG_NR], t1[QG_MR * QG_NR];
    qg_kernel_c(a, b, kp, t0);
    for (int i = 0; i < n; i++) {
        ks[i](a, b, kp, t1);
        if (memcmp(t0, t1, sizeof t0) != 0)
            return false;
    }
    return true;
}

bool qg_dw_selftest(const int16_t *p,
                    const int64_t *off,
                    const int32_t *w,
                    int ntaps,
                    int64_t n,
                    int32_t *scratch) {
    qg_dw_fn fs[3];
    int k = 0;
#if QG_X86
    if (__builtin_cpu_supports("avx2"))
        fs[k++] = qg_dw_avx2;
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        fs[k++] = qg_dw_vnni;
#endif
    fs[k++] = qg_dw_pairs;
    qg_dw_c(p, off, w, ntaps, n, scratch);
    for (int i = 0; i < k; i++) {
        fs[i](p, off, w, ntaps, n, scratch + n);
        if (memcmp(scratch, scratch + n, (size_t)n * sizeof(int32_t)) != 0)
            return false;
    }
    return true;
}
