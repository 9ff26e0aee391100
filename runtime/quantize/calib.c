/* SPDX-License-Identifier: Apache-2.0 */
/* Calibration: one-pass histograms and the range methods (see calib.h). */
#include "runtime/quantize/calib.h"

#include <math.h>
#include <string.h>

#define HALF (QRUN_CALIB_BINS / 2)
#define MSE_CANDIDATES 128 /* clip thresholds tried by MSE: amax * i / 128 */
#define MSE_SUBPOINTS 4    /* points per bin where the error is sampled */
#define KL_FIRST 64        /* smallest threshold (in |x| bins) tried by ENTROPY */
#define KL_STEP 4

void qrun_calib_hist_init(qrun_calib_hist *h) {
    memset(h, 0, sizeof *h);
    h->min = INFINITY;
    h->max = -INFINITY;
    h->all_integer = true;
}

static double bin_width(const qrun_calib_hist *h) {
    return 2.0 * h->range / QRUN_CALIB_BINS;
}

static double bin_edge(const qrun_calib_hist *h, int j) {
    return -h->range + (double)j * bin_width(h);
}

static int bin_of(const qrun_calib_hist *h, double x) {
    double j = floor((x + h->range) / bin_width(h));
    if (j < 0)
        return 0;
    return j >= QRUN_CALIB_BINS ? QRUN_CALIB_BINS - 1 : (int)j;
}

/* Double the range until amax fits; bin j of the old range lies inside new bin (HALF + j) / 2. */
static void hist_grow(qrun_calib_hist *h, double amax) {
    while (amax > h->range) {
        int64_t nb[QRUN_CALIB_BINS] = {0};
        for (int j = 0; j < QRUN_CALIB_BINS; j++)
            nb[(HALF + j) / 2] += h->bins[j];
        memcpy(h->bins, nb, sizeof nb);
        h->range *= 2.0;
    }
}

void qrun_calib_hist_add(qrun_calib_hist *h, const float *x, int64_t n) {
    double amax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        h->min = fmin(h->min, (double)x[i]);
        h->max = fmax(h->max, (double)x[i]);
        amax = fmax(amax, fabs((double)x[i]));
        h->all_integer = h->all_integer && x[i] == nearbyintf(x[i]);
    }
    if (h->range == 0.0 && amax > 0.0) {
        h->range = amax;
        h->bins[HALF] += h->early_zeros;
        h->early_zeros = 0;
    }
    if (h->range > 0.0)
        hist_grow(h, amax);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        h->count++;
        if (h->range == 0.0)
            h->early_zeros++;
        else
            h->bins[bin_of(h, (double)x[i])]++;
    }
}

/* The part of [-t, t] the data reaches. */
static void clip_range(const qrun_calib_hist *h, double t, double *lo, double *hi) {
    *lo = fmax(h->min, -t);
    *hi = fmin(h->max, t);
}

static void range_percentile(const qrun_calib_hist *h, double p, double *lo, double *hi) {
    double total = 0.0;
    for (int j = 0; j < QRUN_CALIB_BINS; j++)
        total += (double)h->bins[j];
    double want_lo = total * (1.0 - p / 100.0), want_hi = total * p / 100.0, cum = 0.0;
    *lo = h->min;
    *hi = h->max;
    bool lo_set = false;
    for (int j = 0; j < QRUN_CALIB_BINS; j++) {
        cum += (double)h->bins[j];
        if (!lo_set && cum > want_lo) {
            *lo = fmax(h->min, bin_edge(h, j));
            lo_set = true;
        }
        if (cum >= want_hi) {
            *hi = fmin(h->max, bin_edge(h, j + 1));
            break;
        }
    }
}

/* Expected squared error of the histogram under the quantizer chosen for clip threshold t. */
static double mse_for(const qrun_calib_hist *h, const qrun_calib_config *cfg, double t) {
    double lo, hi, w = bin_width(h), err = 0.0;
    clip_range(h, t, &lo, &hi);
    qrun_ptq_qparams p = qrun_ptq_choose_qparams(cfg->fmt, lo, hi, cfg->symmetric, cfg->pow2);
    for (int j = 0; j < QRUN_CALIB_BINS; j++) {
        if (!h->bins[j])
            continue;
        double e = 0.0;
        for (int k = 0; k < MSE_SUBPOINTS; k++) {
            double x = bin_edge(h, j) + w * ((double)k + 0.5) / MSE_SUBPOINTS;
            x = fmin(fmax(x, h->min), h->max);
            double d = x - qrun_ptq_fake_quant(&p, x);
            e += d * d;
        }
        err += (double)h->bins[j] * e / MSE_SUBPOINTS;
    }
    return err;
}

static double threshold_mse(const qrun_calib_hist *h, const qrun_calib_config *cfg) {
    double amax = fmax(fabs(h->min), fabs(h->max)), best_t = amax, best = INFINITY;
    /* From the largest clip down, so that ties keep the wider range. */
    for (int i = MSE_CANDIDATES; i >= 1; i--) {
        double t = amax * (double)i / MSE_CANDIDATES, e = mse_for(h, cfg, t);
        if (e < best) {
            best = e;
            best_t = t;
        }
    }
    return best_t;
}

/*
 * KL(P || Q) for threshold bin i of the |x| histogram a[0..HALF) (the
 * TensorRT/MXNet construction): P is a clipped at i with the outliers added to
 * its last bin; Q spreads the mass of the clipped histogram *without* the
 * outliers over each run of bins that quantize to one value (evenly over the
 * run's bins where P is non-zero). The missing outlier mass is what makes
 * clipping cost something. Both are normalised; an empty Q bin where P is not
 * gets a tiny mass (the usual smoothing) instead of an infinite divergence.
 */
static double kl_for(
    const qrun_calib_hist *h, const qrun_calib_config *cfg, const double *a, double total, int i) {
    double w = bin_width(h), t = (double)i * w;
    double lo = h->min >= 0.0 ? 0.0 : -t;
    qrun_ptq_qparams p = qrun_ptq_choose_qparams(cfg->fmt, lo, t, cfg->symmetric, cfg->pow2);
    double outliers = 0.0, kept = 0.0;
    for (int j = i; j < HALF; j++)
        outliers += a[j];
    for (int j = 0; j < i; j++)
        kept += a[j];
    if (kept <= 0.0)
        return INFINITY;
    double kl = 0.0;
    int start = 0;
    while (start < i) {
        double qv = qrun_ptq_fake_quant(&p, ((double)start + 0.5) * w);
        int end = start + 1;
        while (end < i && qrun_ptq_fake_quant(&p, ((double)end + 0.5) * w) == qv)
            end++;
        double mass = 0.0;
        int nz = 0;
        for (int j = start; j < end; j++) {
            mass += a[j];
            nz += a[j] + (j == i - 1 ? outliers : 0.0) > 0.0;
        }
        for (int j = start; j < end; j++) {
            double pj = (a[j] + (j == i - 1 ? outliers : 0.0)) / total;
            if (pj <= 0.0)
                continue;
            double qj = fmax(mass / nz / kept, 1e-12);
            kl += pj * log(pj / qj);
        }
        start = end;
    }
    return kl;
}

static double threshold_entropy(const qrun_calib_hist *h, const qrun_calib_config *cfg) {
    double a[HALF], total = 0.0;
    for (int j = 0; j < HALF; j++) {
        a[j] = (double)(h->bins[HALF + j] + h->bins[HALF - 1 - j]);
        total += a[j];
    }
    int last = HALF;
    while (last > 1 && a[last - 1] == 0.0)
        last--;
    double best = INFINITY, best_t = (double)last * bin_width(h);
    if (total <= 0.0)
        return best_t;
    for (int i = last; i >= KL_FIRST && i >= 1; i -= KL_STEP) {
        double kl = kl_for(h, cfg, a, total, i);
        if (kl < best) {
            best = kl;
            best_t = (double)i * bin_width(h);
        }
    }
    return best_t;
}

void qrun_calib_range(const qrun_calib_hist *h,
                      const qrun_calib_config *cfg,
                      double *lo,
                      double *hi) {
    if (h->count == 0) {
        *lo = *hi = 0.0;
        return;
    }
    *lo = h->min;
    *hi = h->max;
    if (h->range == 0.0)
        return; /* all zeros */
    switch (cfg->method) {
    case QRUN_CALIB_MINMAX:
        return;
    case QRUN_CALIB_PERCENTILE:
        range_percentile(h, cfg->percentile, lo, hi);
        return;
    case QRUN_CALIB_MSE:
        clip_range(h, threshold_mse(h, cfg), lo, hi);
        return;
    case QRUN_CALIB_ENTROPY:
        clip_range(h, threshold_entropy(h, cfg), lo, hi);
        return;
    }
}
