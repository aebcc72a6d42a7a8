/**
 * The figures of a contrastive-analysis run: held-out reconstructions and latent traversals of the VAEs, and the
 * gradient × input saliency of every method — PNGs (central axial slices for volumes) and, for 3D data, NIfTI.
 */
import path from 'node:path';
import * as tf from '../../src/tf.js';
import { writeFileAtomicSync } from '../../src/util/fs.js';
import { encodePng } from '../../src/report/png.js';
import type { ReportBlock } from '../../src/report/blocks.js';
import { batchTensor, centralSlice, embedDataset, gatherImages, imageGrid, meanSaliency, salientSaliency, type ContrastiveDataset, type FitResult, type Split } from '../../src/contrastive-analysis/index.js';
import { writeNiftiSync, type Volume } from '../../modalities/mri/index.js';

/** Where 3D figures are placed in space (the affine and spacing of the data set's first volume). */
export interface VolumeGeometry {
  affine: Volume['affine'];
  spacing: number[];
}

function png(file: string, img: Parameters<typeof encodePng>[0]): Uint8Array {
  const bytes = encodePng(img);
  writeFileAtomicSync(file, bytes);
  return bytes;
}

/** Tiles of samples (2D images, or central axial slices of volumes). */
function tilesOf(ds: ContrastiveDataset, data: Float32Array, count: number): { tiles: Float32Array[]; shape: [number, number] } {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const tiles: Float32Array[] = [];
  let shape: [number, number] = [ds.shape[ds.shape.length - 2], ds.shape[ds.shape.length - 1]];
  for (let k = 0; k < count; k++) {
    const s = centralSlice(data.subarray(k * size, (k + 1) * size), ds.shape, 0);
    tiles.push(s.data);
    shape = s.shape;
  }
  return { tiles, shape };
}

/** Held-out examples shown in the figures: up to `k` targets (one per salient class first) and `k` backgrounds. */
function examples(ds: ContrastiveDataset, split: Split, k: number): { targets: number[]; background: number[] } {
  const targets: number[] = [];
  const seen = new Set<string>();
  for (const i of split.test) {
    if (ds.group[i] !== 1) continue;
    const c = String(ds.factors[ds.salient.name][i]);
    if (!seen.has(c)) {
      seen.add(c);
      targets.push(i);
    }
  }
  for (const i of split.test) if (ds.group[i] === 1 && targets.length < k && !targets.includes(i)) targets.push(i);
  const background = Array.from(split.test).filter((i) => ds.group[i] === 0).slice(0, k);
  return { targets: targets.slice(0, k), background };
}

export interface Figures {
  blocks: ReportBlock[];
}

/** Reconstructions and latent traversals of a VAE; gradient × input saliency of every method. */
export function figures(ds: ContrastiveDataset, split: Split, fit: FitResult, dir: string, geometry: VolumeGeometry | null, name: string): Figures {
  const affine = geometry?.affine ?? null;
  const spacing = geometry?.spacing ?? null;
  const blocks: ReportBlock[] = [];
  const m = fit.method;
  const ex = examples(ds, split, 8);
  const is3d = ds.shape.length === 3;
  const scale = is3d ? 4 : 3;
  if (m.reconstruct && m.decode) {
    const idx = [...ex.targets, ...ex.background];
    const group = idx.map((i) => ds.group[i]);
    const x = batchTensor(gatherImages(ds, idx), idx.length, ds.shape);
    const r = m.reconstruct(x, group);
    const orig = tilesOf(ds, gatherImages(ds, idx), idx.length);
    const rec = tilesOf(ds, r.dataSync() as Float32Array, idx.length);
    const img = imageGrid([...orig.tiles, ...rec.tiles], orig.shape, { columns: idx.length, scale, flipRows: is3d });
    const bytes = png(path.join(dir, `${name}-reconstructions.png`), img);
    blocks.push({ type: 'images', title: `${name}: held-out samples (top) and reconstructions (bottom)`, images: [{ src: bytes, caption: `${ex.targets.length} targets, then ${ex.background.length} background samples` }] });
    // Traversals of the salient and of the common latent with the largest spread over the held-out targets shown,
    // from −2 to +2 sd around their mean, the other code kept at one held-out target's.
    const te = embedDataset(m, ds, ex.targets);
    const spread = (codes: Float32Array, d: number) => {
      const mean = new Float64Array(d);
      const sq = new Float64Array(d);
      const k = codes.length / d;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < d; j++) {
          mean[j] += codes[i * d + j] / k;
          sq[j] += codes[i * d + j] ** 2 / k;
        }
      }
      const sd = Array.from(mean, (mu, j) => Math.sqrt(Math.max(sq[j] - mu * mu, 1e-6)));
      const dim = sd.indexOf(Math.max(...sd));
      return { dim, mean: mean[dim], sd: sd[dim] };
    };
    const steps = [-2, -1, 0, 1, 2];
    const traverse = (which: 'salient' | 'common') => {
      const z = new Float32Array(steps.length * te.commonDim);
      const s = new Float32Array(steps.length * te.salientDim);
      const t = which === 'salient' ? spread(te.salient, te.salientDim) : spread(te.common, te.commonDim);
      steps.forEach((u, k) => {
        z.set(te.common.subarray(0, te.commonDim), k * te.commonDim);
        s.set(te.salient.subarray(0, te.salientDim), k * te.salientDim);
        if (which === 'salient') s[k * te.salientDim + t.dim] = t.mean + u * t.sd;
        else z[k * te.commonDim + t.dim] = t.mean + u * t.sd;
      });
      const zt = tf.tensor2d(z, [steps.length, te.commonDim]);
      const st = tf.tensor2d(s, [steps.length, te.salientDim]);
      const out = m.decode!(zt, st);
      const data = out.dataSync() as Float32Array;
      tf.dispose([zt, st, out]);
      return { data, dim: t.dim };
    };
    const sal = traverse('salient');
    const com = traverse('common');
    const tiles = [...tilesOf(ds, sal.data, steps.length).tiles, ...tilesOf(ds, com.data, steps.length).tiles];
    const tb = png(path.join(dir, `${name}-traversals.png`), imageGrid(tiles, tilesOf(ds, sal.data, 1).shape, { columns: steps.length, scale, flipRows: is3d }));
    blocks.push({
      type: 'images',
      title: `${name}: latent traversals, −2…+2 sd — salient latent ${sal.dim} (top), common latent ${com.dim} (bottom)`,
      images: [{ src: tb }],
    });
    if (is3d && affine && spacing) {
      writeVolumes(path.join(dir, `${name}-salient-traversal.nii.gz`), sal.data, ds.shape, steps.length, affine, spacing);
      writeVolumes(path.join(dir, `${name}-common-traversal.nii.gz`), com.data, ds.shape, steps.length, affine, spacing);
      writeVolumes(path.join(dir, `${name}-reconstructions.nii.gz`), r.dataSync() as Float32Array, ds.shape, idx.length, affine, spacing);
    }
    tf.dispose([x, r]);
  }
  // Saliency: per salient class, the mean |gradient × input| over held-out targets of that class.
  const classes = [...new Set(Array.from(split.test).filter((i) => ds.group[i] === 1).map((i) => String(ds.factors[ds.salient.name][i])))].sort();
  const maps: Float32Array[] = [];
  const shown: string[] = [];
  for (const c of classes.slice(0, 10)) {
    const members = Array.from(split.test).filter((i) => ds.group[i] === 1 && String(ds.factors[ds.salient.name][i]) === c).slice(0, 32);
    const mean = meanSaliency(m, ds, members);
    maps.push(mean);
    shown.push(c);
    if (is3d && affine && spacing) writeVolumes(path.join(dir, `${name}-saliency-${c}.nii.gz`), mean, ds.shape, 1, affine, spacing);
  }
  const tiles = maps.map((v) => centralSlice(v, ds.shape, 0));
  const heat = png(path.join(dir, `${name}-saliency.png`), imageGrid(tiles.map((t) => t.data), tiles[0].shape, { colormap: 'heat', scale, flipRows: is3d, range: [0, Math.max(...maps.flatMap((v) => Array.from(v)))] }));
  blocks.push({ type: 'images', title: `${name}: mean |gradient × input| of ‖salient code‖² per ${ds.salient.name} (${shown.join(', ')})${is3d ? ', central axial slice' : ''}`, images: [{ src: heat }] });
  // One example per class with its own map, for 2D.
  if (!is3d) {
    const idx = ex.targets;
    const x = batchTensor(gatherImages(ds, idx), idx.length, ds.shape);
    const sal = salientSaliency(m, x);
    const abs = tf.tidy(() => tf.abs(sal));
    const data = abs.dataSync() as Float32Array;
    const size = ds.shape[0] * ds.shape[1];
    const orig = tilesOf(ds, gatherImages(ds, idx), idx.length);
    const per = idx.map((_, k) => data.slice(k * size, (k + 1) * size));
    const a = imageGrid(orig.tiles, orig.shape, { columns: idx.length, scale });
    const b = imageGrid(per, orig.shape, { columns: idx.length, scale, colormap: 'heat' });
    writeFileAtomicSync(path.join(dir, `${name}-saliency-examples.png`), encodePng(b));
    blocks.push({ type: 'images', title: `${name}: held-out targets and their |gradient × input| maps`, images: [{ src: encodePng(a) }, { src: encodePng(b) }] });
    tf.dispose([x, sal, abs]);
  }
  return { blocks };
}

/** Writes `count` volumes `[D, H, W]` (C-order = x fastest) as one 4-D NIfTI (or 3-D for one). */
function writeVolumes(file: string, data: Float32Array, shape: number[], count: number, affine: Volume['affine'], spacing: number[]): void {
  const [d, h, w] = shape;
  const vol: Volume = {
    shape: count === 1 ? [w, h, d] : [w, h, d, count],
    spacing: count === 1 ? spacing.slice(0, 3) : [...spacing.slice(0, 3), 1],
    affine,
    data: Float32Array.from(data.subarray(0, count * d * h * w)),
  };
  writeNiftiSync(file, vol);
}
