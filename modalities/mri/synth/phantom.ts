/**
 * Renders one synthetic T1 scan from the Colin27 template (DATA.md recipe 3). In template space: cortical
 * thinning, ventricle dilation and regional atrophy turn tissue into CSF as partial volumes driven by exact
 * distance maps (so effects change the image smoothly with their magnitude). Then the subject's anatomy (global
 * scale and a smooth random deformation) maps the template into the output grid, and the site's acquisition
 * adds resolution loss (Gaussian PSF), a multiplicative bias field, a gain and Gaussian noise.
 */
import { ShapeError } from '../../../src/errors.js';
import { Rng } from '../../../src/util/random.js';
import { invert4, type Mat4, voxelSizes } from '../affine.js';
import { boundingBox, extractBox } from '../crop.js';
import { distanceTransform, gaussianBlurData } from '../filters.js';
import type { Grid } from '../resample.js';
import { normalTable } from '../noise.js';
import { type Colin27, REGION } from './template.js';

/** The effect magnitudes and acquisition parameters of one scan: the ground truth written to the manifest. */
export interface ScanEffects {
  /** Cortical thinning in mm (age). */
  cortical_thinning: number;
  /** Ventricle dilation in mm (age). */
  ventricle_dilation: number;
  /** Medial-temporal (hippocampus, amygdala, parahippocampal) erosion in mm (AD); adds half of it as lateral-temporal thinning. */
  hippocampal_atrophy: number;
  /** Extra frontal cortical thinning in mm (FTD). */
  frontal_atrophy: number;
  /** Global size factor (sex, individual). */
  scale: number;
  /** Std of the log bias field (site). */
  bias_strength: number;
  /** Noise std relative to white matter (site). */
  noise_sigma: number;
  /** Global intensity gain (site). */
  gain: number;
  /** Effective resolution (FWHM of the PSF) in mm (site). */
  resolution_mm: number;
}

/** Everything that determines one rendered scan. */
export interface ScanParams extends ScanEffects {
  /**
   * Coefficients (≈ unit variance) of the log bias field's 6 terms x, y, z, x², y², z² (normalised coordinates):
   * a separable field, so it costs three table lookups per voxel.
   */
  bias_coeffs: number[];
  /** Seed of the subject's anatomical deformation (same for all of a subject's visits). */
  anatomy_seed: number;
  /** Amplitude (mm) of the subject's smooth deformation (default 2). */
  deformation_mm?: number;
  /** Seed of this scan's noise. */
  noise_seed: number;
}

/** Intensity of CSF in template units (the darkest tissue class of ch2bet). */
export const CSF_T1 = 32;
/** Template intensity treated as tissue (vs CSF) when measuring cortical depth. */
const TISSUE_T1 = 55;
/** Template white-matter intensity; output images put it at 1000 × gain. */
const WM_T1 = 110;
const CORTEX = new Set<number>([REGION.cerebrumOther, REGION.frontalLobe, REGION.temporalLobeLateral, REGION.medialTemporal, REGION.cerebellum]);
/** Largest effect (mm) the precomputed candidate lists cover. */
const MAX_EFFECT_MM = 8;
const DEFORM_TERMS = 3;

/** The output voxels that can see the brain, with their template cell and trilinear weights. */
interface SampleMap {
  /** Output voxel index. */
  index: Int32Array;
  /** Output row (y + Y·z) and column (x), for the separable bias field. */
  row: Int32Array;
  col: Int32Array;
  /** Template index of the cell's lower corner. */
  q: Int32Array;
  fx: Float32Array;
  fy: Float32Array;
  fz: Float32Array;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Template state shared by every scan of a run (distance maps, candidate voxels); build once per thread. */
export class PhantomBase {
  /** Template T1 cropped to the brain's bounding box (+ margin). */
  readonly t1: Float32Array;
  readonly shape: [number, number, number];
  /** Crop voxel → world. */
  readonly affine: Mat4;
  private readonly worldToVoxel: Mat4;
  /** Voxel size of the template (mm). */
  readonly h: number;
  /** Brain centre (world mm), the fixed point of scaling. */
  readonly centre: [number, number, number];
  // voxels an effect can touch, with their distances
  private readonly cand: Int32Array;
  private readonly candLabel: Uint8Array;
  private readonly candDepth: Float32Array;
  private readonly candVent: Float32Array;
  private readonly candMtl: Float32Array;
  private readonly candTissue: Uint8Array;
  /** 1 where a trilinear sample can be non-zero (brain dilated by one voxel). */
  private readonly support: Uint8Array;
  private mapCache: { key: string; map: SampleMap } | null = null;

  constructor(template: Colin27) {
    const { t1, labels } = template;
    const box = boundingBox(t1.data, t1.shape);
    if (!box) throw new ShapeError('template T1 is empty');
    const margin = 3; // the blur reflects at the crop's edge, which is background anyway
    const start = box.min.map((v) => v - margin);
    const size = box.max.map((v, i) => v - box.min[i] + 1 + 2 * margin);
    const t = extractBox(t1, start, size);
    const l = extractBox(labels, start, size);
    this.t1 = Float32Array.from(t.data);
    this.shape = size as [number, number, number];
    this.affine = t.affine;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j && t.affine[i][j] !== 0) throw new ShapeError('template affine must be axis-aligned');
    this.worldToVoxel = invert4(t.affine);
    const vs = voxelSizes(t.affine);
    this.h = vs[0];
    const n = this.t1.length;
    const lab = Uint8Array.from(l.data);
    const tissue = new Uint8Array(n);
    const notTissue = new Uint8Array(n);
    const vent = new Uint8Array(n);
    const notMtl = new Uint8Array(n);
    let cx = 0, cy = 0, cz = 0, cnt = 0;
    const [nx, ny] = this.shape;
    for (let i = 0; i < n; i++) {
      tissue[i] = this.t1[i] >= TISSUE_T1 ? 1 : 0;
      notTissue[i] = 1 - tissue[i];
      vent[i] = lab[i] === REGION.ventricles ? 1 : 0;
      notMtl[i] = lab[i] === REGION.medialTemporal ? 0 : 1;
      if (this.t1[i] > 0) {
        const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
        cx += x; cy += y; cz += z; cnt++;
      }
    }
    const c = [cx / cnt, cy / cnt, cz / cnt];
    this.centre = [0, 1, 2].map((r) => t.affine[r][0] * c[0] + t.affine[r][1] * c[1] + t.affine[r][2] * c[2] + t.affine[r][3]) as [number, number, number];
    const depth = distanceTransform(notTissue, this.shape, vs);
    const dVent = distanceTransform(vent, this.shape, vs);
    const dMtl = distanceTransform(notMtl, this.shape, vs);
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      if (this.t1[i] <= 0 || lab[i] === REGION.ventricles) continue;
      const nearSurface = CORTEX.has(lab[i]) && tissue[i] && depth[i] <= MAX_EFFECT_MM + this.h;
      const nearVent = dVent[i] <= MAX_EFFECT_MM + this.h;
      if (nearSurface || nearVent || lab[i] === REGION.medialTemporal) idx.push(i);
    }
    this.cand = Int32Array.from(idx);
    this.candLabel = Uint8Array.from(idx, (i) => lab[i]);
    this.candDepth = Float32Array.from(idx, (i) => depth[i]);
    this.candVent = Float32Array.from(idx, (i) => dVent[i]);
    this.candMtl = Float32Array.from(idx, (i) => dMtl[i]);
    this.candTissue = Uint8Array.from(idx, (i) => tissue[i]);
    // lower corner of a trilinear cell → could the cell touch the brain? (cells whose 8 corners are all 0 give 0)
    this.support = new Uint8Array(n);
    const [, , nz] = this.shape;
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
      const i = x + nx * (y + ny * z);
      if (this.t1[i] <= 0) continue;
      for (let dz = -1; dz <= 0; dz++) for (let dy = -1; dy <= 0; dy++) for (let dx = -1; dx <= 0; dx++) {
        const xx = x + dx, yy = y + dy, zz = z + dz;
        if (xx >= 0 && yy >= 0 && zz >= 0) this.support[xx + nx * (yy + ny * zz)] = 1;
      }
    }
  }

  /** The template with this scan's atrophy applied (template space, template units). */
  applyEffects(p: ScanParams): Float32Array {
    const out = this.t1.slice();
    const h = this.h;
    const ct = Math.min(p.cortical_thinning, MAX_EFFECT_MM);
    const vd = Math.min(p.ventricle_dilation, MAX_EFFECT_MM);
    const ha = Math.min(p.hippocampal_atrophy, MAX_EFFECT_MM);
    const fa = Math.min(p.frontal_atrophy, MAX_EFFECT_MM);
    for (let k = 0; k < this.cand.length; k++) {
      const lab = this.candLabel[k];
      let keep = 1;
      if (this.candTissue[k] && CORTEX.has(lab)) {
        let thin = ct;
        if (lab === REGION.frontalLobe) thin += fa;
        else if (lab === REGION.temporalLobeLateral || lab === REGION.medialTemporal) thin += 0.5 * ha;
        keep *= 1 - clamp01((thin - (this.candDepth[k] - h)) / h);
      }
      if (vd > 0) keep *= 1 - clamp01((vd - (this.candVent[k] - h)) / h);
      if (lab === REGION.medialTemporal && ha > 0) keep *= 1 - clamp01((ha - (this.candMtl[k] - h)) / h);
      if (keep < 1) {
        const i = this.cand[k];
        const v = out[i];
        if (v > CSF_T1) out[i] = CSF_T1 + keep * (v - CSF_T1);
      }
    }
    return out;
  }

  /**
   * Renders a scan onto `grid` (an axis-aligned RAS grid). Integer values (int16 range): white matter ≈ 1000 ×
   * gain × bias, CSF ≈ 290, background 0 (skull-stripped), plus noise inside the brain.
   */
  render(p: ScanParams, grid: Grid): Float32Array {
    const a = grid.affine;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j && a[i][j] !== 0) throw new ShapeError('render: the output grid must be axis-aligned (RAS)');
    const outSpacing = Math.max(Math.abs(a[0][0]), Math.abs(a[1][1]), Math.abs(a[2][2]));
    const h = this.h;
    // template-space smoothing: the site's PSF beyond the template's own ~2 mm, plus anti-aliasing for coarse grids
    const sigmaSite = Math.sqrt(Math.max(0, p.resolution_mm ** 2 - h ** 2)) / 2.3548;
    const sigmaAA = Math.max(0, (outSpacing - h) / 2);
    const sigmaVox = Math.sqrt(sigmaSite ** 2 + sigmaAA ** 2) / h;
    const src = this.applyEffects(p);
    if (sigmaVox > 0.05) gaussianBlurData(src, this.shape, sigmaVox, 3); // ±3σ kernel: plenty for a PSF

    const [ox, oy, oz] = grid.shape;
    const out = new Float32Array(ox * oy * oz);
    const { index, row, col, q, fx, fy, fz } = this.sampleMap(p, grid);
    const [cx, cy, cz] = this.centre;
    // acquisition: separable bias field × gain, then noise inside the brain (the image is skull-stripped)
    const bc = p.bias_coeffs;
    const beta = p.bias_strength;
    const axis = (n: number, i: number, c: number, half: number, lin: number, quad: number) =>
      Float64Array.from({ length: n }, (_, k) => {
        const u = (a[i][i] * k + a[i][3] - c) / half;
        return Math.exp(beta * (lin * u + quad * (u * u - 0.33)));
      });
    const bx = axis(ox, 0, cx, 70, bc[0], bc[3]);
    const by = axis(oy, 1, cy, 90, bc[1], bc[4]);
    const bz = axis(oz, 2, cz, 70, bc[2], bc[5]);
    const unit = (1000 / WM_T1) * p.gain;
    const rowGain = new Float64Array(oy * oz);
    for (let z = 0; z < oz; z++) for (let y = 0; y < oy; y++) rowGain[y + oy * z] = unit * by[y] * bz[z];
    const noise = p.noise_sigma * 1000;
    const rngN = new Rng(p.noise_seed);
    const table = normalTable();
    const sy = this.shape[0];
    const sz = this.shape[0] * this.shape[1];
    // only the output voxels that can see the brain: trilinear sample, bias, gain, noise, round — one pass
    for (let j = 0; j < index.length; j++) {
      const k = q[j];
      const ax = fx[j], ay = fy[j];
      const c00 = src[k] + ax * (src[k + 1] - src[k]);
      const c10 = src[k + sy] + ax * (src[k + sy + 1] - src[k + sy]);
      const c01 = src[k + sz] + ax * (src[k + sz + 1] - src[k + sz]);
      const c11 = src[k + sz + sy] + ax * (src[k + sz + sy + 1] - src[k + sz + sy]);
      const c0 = c00 + ay * (c10 - c00);
      const v = c0 + fz[j] * (c01 + ay * (c11 - c01) - c0);
      if (v < 1) continue;
      const val = Math.round(v * rowGain[row[j]] * bx[col[j]] + noise * table[rngN.nextUint32() >>> 16]);
      out[index[j]] = val > 0 ? (val < 32767 ? val : 32767) : 0;
    }
    return out;
  }

  /**
   * The output voxels whose template position (under the subject's scale and deformation) can touch the brain, with
   * the template cell and trilinear weights. Cached for the last subject, whose visits share it.
   */
  private sampleMap(p: ScanParams, grid: Grid): SampleMap {
    const key = `${p.anatomy_seed}/${p.scale}/${p.deformation_mm ?? 2}/${JSON.stringify(grid)}`;
    if (this.mapCache?.key === key) return this.mapCache.map;
    const a = grid.affine;
    const [ox, oy, oz] = grid.shape;
    const total = ox * oy * oz;
    const idx = new Int32Array(total);
    const rows = new Int32Array(total);
    const cols = new Int32Array(total);
    const qs = new Int32Array(total);
    const fxs = new Float32Array(total);
    const fys = new Float32Array(total);
    const fzs = new Float32Array(total);
    let m = 0;
    const [nx, ny, nz] = this.shape;
    const sy = nx;
    const sz = nx * ny;
    const inv = this.worldToVoxel;
    // the template grid is axis-aligned: world → voxel is a per-axis scale and shift
    const [kx, ky, kz] = [inv[0][0], inv[1][1], inv[2][2]];
    const [ex, ey, ez] = [inv[0][3], inv[1][3], inv[2][3]];
    const support = this.support;
    const [cx, cy, cz] = this.centre;
    const s = p.scale;
    // world coordinate of each output index, per axis
    const wx = Float64Array.from({ length: ox }, (_, i) => a[0][0] * i + a[0][3]);
    const wy = Float64Array.from({ length: oy }, (_, i) => a[1][1] * i + a[1][3]);
    const wz = Float64Array.from({ length: oz }, (_, i) => a[2][2] * i + a[2][3]);
    // subject deformation: u_c(w) = Σ_k amp_ck · cos(ωx·x + φx) · cos(ωy·y + φy) · cos(ωz·z + φz)
    const rngA = new Rng(p.anatomy_seed);
    const amp = p.deformation_mm ?? 2;
    const terms: { X: Float64Array; Y: Float64Array; Z: Float64Array; c: number; a: number }[] = [];
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < DEFORM_TERMS; k++) {
        const table = (w: Float64Array) => {
          const omega = (2 * Math.PI) / rngA.uniform(60, 160);
          const phi = rngA.uniform(0, 2 * Math.PI);
          return w.map((v) => Math.cos(omega * v + phi));
        };
        terms.push({ X: table(wx), Y: table(wy), Z: table(wz), c, a: (amp * rngA.normal()) / Math.sqrt(DEFORM_TERMS) });
      }
    }
    // unrolled: three terms per component (DEFORM_TERMS = 3)
    const X = terms.map((t) => t.X);
    // bounds of the crop in world mm, widened by the largest possible displacement, to skip empty rows/columns
    const U = [0, 1, 2].map((c) => terms.filter((t) => t.c === c).reduce((acc, t) => acc + Math.abs(t.a), 0));
    const lo = [0, 1, 2].map((i) => Math.min(this.affine[i][3], this.affine[i][i] * (this.shape[i] - 1) + this.affine[i][3]) - U[i]);
    const hi = [0, 1, 2].map((i) => Math.max(this.affine[i][3], this.affine[i][i] * (this.shape[i] - 1) + this.affine[i][3]) + U[i]);
    let x0 = ox;
    let x1 = -1;
    for (let x = 0; x < ox; x++) {
      const tx = cx + (wx[x] - cx) / s;
      if (tx >= lo[0] && tx <= hi[0]) {
        if (x < x0) x0 = x;
        x1 = x;
      }
    }
    const yz = new Float64Array(9);
    const lastX = nx - 1, lastY = ny - 1, lastZ = nz - 1;
    let w = 0;
    for (let z = 0; z < oz; z++) {
      for (let y = 0; y < oy; y++) {
        for (let t = 0; t < 9; t++) yz[t] = terms[t].a * terms[t].Y[y] * terms[t].Z[z];
        const by = cy + (wy[y] - cy) / s;
        const bz = cz + (wz[z] - cz) / s;
        if (by < lo[1] || by > hi[1] || bz < lo[2] || bz > hi[2] || x1 < x0) {
          w += ox;
          continue;
        }
        const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = yz;
        const [X0, X1, X2, X3, X4, X5, X6, X7, X8] = X;
        const rowStart = w;
        w += x0;
        for (let x = x0; x <= x1; x++, w++) {
          const ux = a0 * X0[x] + a1 * X1[x] + a2 * X2[x];
          const uy = a3 * X3[x] + a4 * X4[x] + a5 * X5[x];
          const uz = a6 * X6[x] + a7 * X7[x] + a8 * X8[x];
          const tx = cx + (wx[x] - cx) / s + ux;
          const ty = by + uy;
          const tz = bz + uz;
          const vx = kx * tx + ex;
          const vy = ky * ty + ey;
          const vz = kz * tz + ez;
          if (!(vx >= 0 && vy >= 0 && vz >= 0 && vx <= lastX && vy <= lastY && vz <= lastZ)) continue;
          let ix = vx | 0, iy = vy | 0, iz = vz | 0;
          if (ix === lastX) ix--;
          if (iy === lastY) iy--;
          if (iz === lastZ) iz--;
          const fx = vx - ix, fy = vy - iy, fz = vz - iz;
          const k = iz * sz + iy * sy + ix;
          if (support[k] === 0) continue;
          idx[m] = w;
          rows[m] = y + oy * z;
          cols[m] = x;
          qs[m] = k;
          fxs[m] = fx;
          fys[m] = fy;
          fzs[m] = fz;
          m++;
        }
        w = rowStart + ox;
      }
    }
    const map: SampleMap = {
      index: idx.slice(0, m),
      row: rows.slice(0, m),
      col: cols.slice(0, m),
      q: qs.slice(0, m),
      fx: fxs.slice(0, m),
      fy: fys.slice(0, m),
      fz: fzs.slice(0, m),
    };
    this.mapCache = { key, map };
    return map;
  }
}
